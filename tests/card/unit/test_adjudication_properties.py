"""Properties of adjudication and refunds over random claims, terms and counters."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from medpay_card.domain.adjudication import (
    ClaimLine,
    ClaimSplit,
    Counters,
    RefundParts,
    Terms,
    adjudicate,
    refund,
)
from medpay_kit.money import line_amount_fen

PARTS = ("total", "over_limit", "full_self_pay", "pre_self_pay", "in_scope", "deductible",
         "fund_pay", "account_pay", "cash_pay")
FEN = st.integers(min_value=0, max_value=5_000_000)


@st.composite
def claim_lines(draw: st.DrawFn) -> tuple[ClaimLine, ...]:
    count = draw(st.integers(min_value=1, max_value=6))
    lines = []
    for no in range(1, count + 1):
        price = Decimal(draw(st.integers(1, 500_000_000))).scaleb(-6)  # ≤ 500 yuan, 6 places
        cap = draw(st.none() | st.integers(1, 500_000_000).map(lambda n: Decimal(n).scaleb(-6)))
        quantity = Decimal(draw(st.integers(1, 1_000_000))).scaleb(-4)  # ≤ 100, 4 places
        if line_amount_fen(price, quantity) == 0:  # such a line is refused: make it cost 1 fen+
            price, quantity = max(price, Decimal("0.01")), max(quantity, Decimal(1))
        lines.append(ClaimLine(
            line_no=no, item_code=f"I{no}", item_class=draw(st.sampled_from("ABC")),
            unit_price=price, quantity=quantity,
            price_cap=cap, pre_self_pay_ratio_bp=draw(st.integers(0, 10_000)),
        ))
    return tuple(lines)


terms_st = st.builds(
    Terms, deductible=FEN, fund_ratio_bp=st.integers(0, 10_000), yearly_cap=FEN,
    pooling_applies=st.booleans(), account_may_pay_out_of_scope=st.booleans(),
    policy_id=st.just("P"), version=st.just(1),
    deductible_scope=st.sampled_from(["YEAR", "ADMISSION"]),
)
counters_st = st.builds(Counters, deductible_used=FEN, pooled_paid=FEN, balance=FEN)


def _parts(value: ClaimSplit | RefundParts) -> dict[str, int]:
    return {part: getattr(value, part) for part in PARTS}


@given(claim_lines(), terms_st, counters_st, st.booleans())
def test_split_keeps_both_identities_and_its_bounds(
    lines: tuple[ClaimLine, ...], terms: Terms, counters: Counters, use_account: bool
) -> None:
    split = adjudicate(lines, terms, counters, use_account=use_account)

    assert split.total == (split.over_limit + split.full_self_pay + split.pre_self_pay
                           + split.in_scope)
    assert split.total == split.fund_pay + split.account_pay + split.cash_pay
    assert split.identities_hold
    assert all(v >= 0 for v in _parts(split).values())
    assert all(min(p.amount, p.capped, p.over_limit, p.full_self_pay, p.pre_self_pay,
                   p.in_scope) >= 0 for p in split.lines)
    assert split.account_pay <= counters.balance
    assert split.balance_after == counters.balance - split.account_pay >= 0
    assert split.fund_pay <= max(0, terms.yearly_cap - counters.pooled_paid)
    assert split.deductible + split.fund_pay <= split.in_scope
    if not use_account:
        assert split.account_pay == 0
    if not terms.account_may_pay_out_of_scope:
        assert split.cash_pay >= split.full_self_pay + split.over_limit
    if not terms.pooling_applies:
        assert split.deductible == split.fund_pay == 0


@given(claim_lines(), terms_st, counters_st, st.booleans())
def test_refunding_everything_returns_exactly_the_original(
    lines: tuple[ClaimLine, ...], terms: Terms, counters: Counters, use_account: bool
) -> None:
    split = adjudicate(lines, terms, counters, use_account=use_account)
    parts = refund(lines, split, counters, terms, returned_line_nos=[ln.line_no for ln in lines],
                   kind="ALL", use_account=use_account)

    assert _parts(parts) == _parts(split)
    assert parts.release.applied_to(counters.captured(split)) == counters


@settings(max_examples=200)
@given(claim_lines(), terms_st, counters_st, st.booleans(), st.data())
def test_partial_refund_never_exceeds_the_original_and_adds_up(
    lines: tuple[ClaimLine, ...], terms: Terms, counters: Counters, use_account: bool,
    data: st.DataObject,
) -> None:
    split = adjudicate(lines, terms, counters, use_account=use_account)
    returned = data.draw(st.sets(st.sampled_from([ln.line_no for ln in lines]), min_size=1))
    by_kind = {
        kind: refund(lines, split, counters, terms, returned_line_nos=returned, kind=kind,
                     use_account=use_account)
        for kind in ("ALL", "CASH", "HI")
    }
    everything = by_kind["ALL"]

    for parts in by_kind.values():
        assert all(0 <= parts_value <= getattr(split, name)
                   for name, parts_value in _parts(parts).items())
        assert parts.total == parts.fund_pay + parts.account_pay + parts.cash_pay
    assert everything.total == (everything.over_limit + everything.full_self_pay
                                + everything.pre_self_pay + everything.in_scope)
    # CASH and HI split the ALL refund between them.
    assert by_kind["CASH"].total + by_kind["HI"].total == everything.total
    assert by_kind["HI"].release == everything.release
    # Releasing the refund from the captured counters leaves what capturing only the
    # kept lines would have left.
    if everything.remaining is not None:
        assert (everything.release.applied_to(counters.captured(split))
                == counters.captured(everything.remaining))


@settings(max_examples=200)
@given(claim_lines(), terms_st, counters_st, st.booleans(), st.data())
def test_two_partial_refunds_then_the_rest_add_up_to_the_original(
    lines: tuple[ClaimLine, ...], terms: Terms, counters: Counters, use_account: bool,
    data: st.DataObject,
) -> None:
    split = adjudicate(lines, terms, counters, use_account=use_account)
    order = data.draw(st.permutations([ln.line_no for ln in lines]))
    cut = data.draw(st.integers(1, len(order)))
    first = refund(lines, split, counters, terms, returned_line_nos=order[:cut], kind="ALL",
                   use_account=use_account)
    returned = [first]
    if first.remaining is not None:
        kept = tuple(ln for ln in lines if ln.line_no in set(order[cut:]))
        returned.append(refund(kept, first.remaining, counters, terms,
                               returned_line_nos=order[cut:], kind="ALL",
                               use_account=use_account))

    assert {name: sum(getattr(r, name) for r in returned) for name in PARTS} == _parts(split)
