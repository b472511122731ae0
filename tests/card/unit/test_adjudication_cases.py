"""Worked adjudication cases, computed by hand (the arithmetic is in each comment).

Amounts are fen. Unless a case says otherwise the terms are employee outpatient,
community, in-service (deductible 20000, fund 70 %, yearly cap 200000, account may not
pay out-of-scope parts) and the counters are "deductible exhausted" (used 20000, pooled
0, balance 100000). ``rh`` is half-up to a whole fen.

Claim tuple order: (total, over_limit, full_self, pre_self, in_scope, deductible, fund,
account, cash, balance_after). Line tuple order: (amount, capped, over_limit, full_self,
pre_self, in_scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from medpay_card.domain.adjudication import (
    ClaimLine,
    ClaimSplit,
    CounterRelease,
    Counters,
    Terms,
    adjudicate,
    refund,
    split_line,
)
from medpay_kit.errors import DomainError


def line(no: int, cls: str, price: str, qty: str, cap: str | None = None,
         ratio: int = 0) -> ClaimLine:
    return ClaimLine(line_no=no, item_code=f"ITEM{no:03d}", item_class=cls,  # type: ignore[arg-type]
                     unit_price=Decimal(price), quantity=Decimal(qty),
                     price_cap=None if cap is None else Decimal(cap), pre_self_pay_ratio_bp=ratio)


def terms(deductible: int = 20000, ratio: int = 7000, cap: int = 200000, *,
          pooling: bool = True, oos: bool = False, scope: str = "YEAR") -> Terms:
    return Terms(deductible=deductible, fund_ratio_bp=ratio, yearly_cap=cap,
                 pooling_applies=pooling, account_may_pay_out_of_scope=oos,
                 policy_id="TEST", version=1, deductible_scope=scope)  # type: ignore[arg-type]


EMP = terms()
RETIRED = terms(ratio=7500, cap=250000)
EXHAUSTED = Counters(deductible_used=20000, pooled_paid=0, balance=100000)


@dataclass(frozen=True)
class Case:
    lines: tuple[ClaimLine, ...]
    claim: tuple[int, ...]
    line_parts: tuple[tuple[int, ...], ...]
    terms: Terms = EMP
    counters: Counters = EXHAUSTED
    use_account: bool = True


CASES = {
    # A 10.00×3 = 3000 in scope; ded 0 (exhausted); fund rh(3000×0.7)=2100;
    # person 900 → account 900; balance 100000−900 = 99100.
    "class_a_only": Case(
        (line(1, "A", "10.00", "3"),),
        (3000, 0, 0, 0, 3000, 0, 2100, 900, 0, 99100),
        ((3000, 3000, 0, 0, 0, 3000),)),
    # B 50.00×2 = 10000, pay-first 10 %: pre rh(1000)=1000, in 9000; fund rh(6300)=6300;
    # person 3700; pre-self is not out of scope, account pays 3700; balance 96300.
    "class_b_pay_first": Case(
        (line(1, "B", "50.00", "2", ratio=1000),),
        (10000, 0, 0, 1000, 9000, 0, 6300, 3700, 0, 96300),
        ((10000, 10000, 0, 0, 1000, 9000),)),
    # C 25.50×2 = 5100 fully self-paid; fund 0; person 5100; account may pay
    # 5100−5100 = 0 → cash 5100.
    "class_c": Case(
        (line(1, "C", "25.50", "2"),),
        (5100, 0, 5100, 0, 0, 0, 0, 0, 5100, 100000),
        ((5100, 5100, 0, 5100, 0, 0),)),
    # A 12.00 (cap 10.00)×5: amount 6000, capped 5000, over 1000, in 5000; fund 3500;
    # person 2500; account may pay 2500−1000 = 1500; cash 1000; balance 98500.
    "class_a_over_cap": Case(
        (line(1, "A", "12.00", "5", cap="10.00"),),
        (6000, 1000, 0, 0, 5000, 0, 3500, 1500, 1000, 98500),
        ((6000, 5000, 1000, 0, 0, 5000),)),
    # B 30.00 (cap 25.00)×4, 20 %: amount 12000, capped 10000, over 2000,
    # pre rh(2000)=2000, in 8000; fund 5600; person 6400; account 6400−2000 = 4400;
    # cash 2000; balance 95600.
    "class_b_over_cap": Case(
        (line(1, "B", "30.00", "4", cap="25.00", ratio=2000),),
        (12000, 2000, 0, 2000, 8000, 0, 5600, 4400, 2000, 95600),
        ((12000, 10000, 2000, 0, 2000, 8000),)),
    # C 8.00 (cap 6.00)×10: amount 8000, capped 6000 (full self), over 2000; fund 0;
    # account may pay 8000−6000−2000 = 0 → cash 8000.
    "class_c_over_cap": Case(
        (line(1, "C", "8.00", "10", cap="6.00"),),
        (8000, 2000, 6000, 0, 0, 0, 0, 0, 8000, 100000),
        ((8000, 6000, 2000, 6000, 0, 0),)),
    # A 10.00 (cap 12.00)×2: cap above price → capped = amount = 2000, over 0;
    # fund 1400; person 600; account 600; balance 99400.
    "cap_above_price": Case(
        (line(1, "A", "10.00", "2", cap="12.00"),),
        (2000, 0, 0, 0, 2000, 0, 1400, 600, 0, 99400),
        ((2000, 2000, 0, 0, 0, 2000),)),
    # Deductible unused (used 0). Lines: A 3000; B 10000 (pre 1000, in 9000); C 5100;
    # A over cap 6000 (over 1000, in 5000). total 24100 = 1000+5100+1000+17000;
    # IN 17000, ded min(17000, 20000) = 17000, fund rh(0) = 0; person 24100;
    # account 24100−5100−1000 = 18000; cash 6100; balance 82000.
    "mixed_basket_deductible_unused": Case(
        (line(1, "A", "10.00", "3"), line(2, "B", "50.00", "2", ratio=1000),
         line(3, "C", "25.50", "2"), line(4, "A", "12.00", "5", cap="10.00")),
        (24100, 1000, 5100, 1000, 17000, 17000, 0, 18000, 6100, 82000),
        ((3000, 3000, 0, 0, 0, 3000), (10000, 10000, 0, 0, 1000, 9000),
         (5100, 5100, 0, 5100, 0, 0), (6000, 5000, 1000, 0, 0, 5000)),
        counters=Counters(0, 0, 100000)),
    # Used 0; A 300.00 = 30000; ded 20000; fund rh(10000×0.7) = 7000; person 23000;
    # account 23000; balance 77000.
    "deductible_unused_claim_above_it": Case(
        (line(1, "A", "300.00", "1"),),
        (30000, 0, 0, 0, 30000, 20000, 7000, 23000, 0, 77000),
        ((30000, 30000, 0, 0, 0, 30000),),
        counters=Counters(0, 0, 100000)),
    # Used 15000; A 100.00 = 10000; ded min(10000, 5000) = 5000; fund rh(3500) = 3500;
    # person 6500; account 6500; balance 93500.
    "deductible_partly_used": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 5000, 3500, 6500, 0, 93500),
        ((10000, 10000, 0, 0, 0, 10000),),
        counters=Counters(15000, 0, 100000)),
    # Used 19000; A 5.00 = 500; ded min(500, 1000) = 500; fund 0; account 500.
    "deductible_larger_than_claim": Case(
        (line(1, "A", "5.00", "1"),),
        (500, 0, 0, 0, 500, 500, 0, 500, 0, 99500),
        ((500, 500, 0, 0, 0, 500),),
        counters=Counters(19000, 0, 100000)),
    # Used 30000 > deductible 20000 (policy lowered mid-year): max(0, −10000) = 0;
    # A 10.00 = 1000; fund 700; account 300.
    "deductible_used_beyond_policy": Case(
        (line(1, "A", "10.00", "1"),),
        (1000, 0, 0, 0, 1000, 0, 700, 300, 0, 99700),
        ((1000, 1000, 0, 0, 0, 1000),),
        counters=Counters(30000, 0, 100000)),
    # Pooled 199000 of cap 200000: fund min(rh(10000×0.7)=7000, 1000) = 1000;
    # person 9000; account 9000; balance 91000.
    "yearly_cap_crossed_mid_claim": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 1000, 9000, 0, 91000),
        ((10000, 10000, 0, 0, 0, 10000),),
        counters=Counters(20000, 199000, 100000)),
    # Pooled 200000 = cap: fund min(7000, 0) = 0; person 10000; account 10000.
    "yearly_cap_already_reached": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 0, 10000, 0, 90000),
        ((10000, 10000, 0, 0, 0, 10000),),
        counters=Counters(20000, 200000, 100000)),
    # Pooled 210000 > cap (policy lowered): max(0, −10000) = 0 → fund 0.
    "pooled_beyond_cap": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 0, 10000, 0, 90000),
        ((10000, 10000, 0, 0, 0, 10000),),
        counters=Counters(20000, 210000, 100000)),
    # Balance 1234; A 100.00: fund 7000, person 3000; account min(1234, 3000) = 1234;
    # cash 1766; balance 0.
    "account_short": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 7000, 1234, 1766, 0),
        ((10000, 10000, 0, 0, 0, 10000),),
        counters=Counters(20000, 0, 1234)),
    # Request forbids the account: fund 7000; person 3000 all cash; balance unchanged.
    "account_forbidden": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 7000, 0, 3000, 100000),
        ((10000, 10000, 0, 0, 0, 10000),),
        use_account=False),
    # Balance 0: fund 7000; person 3000; account min(0, 3000) = 0; cash 3000.
    "zero_balance": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 7000, 0, 3000, 0),
        ((10000, 10000, 0, 0, 0, 10000),),
        counters=Counters(20000, 0, 0)),
    # C 5100 + A 3000: total 8100; fund rh(2100) = 2100; person 6000; account may not pay
    # class C: 6000−5100 = 900; cash 5100; balance 99100.
    "account_may_not_pay_out_of_scope": Case(
        (line(1, "C", "25.50", "2"), line(2, "A", "10.00", "3")),
        (8100, 0, 5100, 0, 3000, 0, 2100, 900, 5100, 99100),
        ((5100, 5100, 0, 5100, 0, 0), (3000, 3000, 0, 0, 0, 3000))),
    # Same basket, policy lets the account pay class C: account min(100000, 6000) = 6000;
    # cash 0; balance 94000.
    "account_may_pay_out_of_scope": Case(
        (line(1, "C", "25.50", "2"), line(2, "A", "10.00", "3")),
        (8100, 0, 5100, 0, 3000, 0, 2100, 6000, 0, 94000),
        ((5100, 5100, 0, 5100, 0, 0), (3000, 3000, 0, 0, 0, 3000)),
        terms=terms(oos=True)),
    # A 12.00 (cap 10.00)×5 with the account allowed over the cap: fund 3500;
    # person 2500 all from the account; balance 97500.
    "account_may_pay_over_limit": Case(
        (line(1, "A", "12.00", "5", cap="10.00"),),
        (6000, 1000, 0, 0, 5000, 0, 3500, 2500, 0, 97500),
        ((6000, 5000, 1000, 0, 0, 5000),),
        terms=terms(oos=True)),
    # Pooling does not apply (institution not registered): ded 0 even with used 0,
    # fund 0; person 10000; account min(3000, 10000) = 3000; cash 7000; balance 0.
    "pooling_not_applying": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 0, 3000, 7000, 0),
        ((10000, 10000, 0, 0, 0, 10000),),
        terms=terms(pooling=False), counters=Counters(0, 0, 3000)),
    # A 0.125×1: 12.5 fen → rh 13; fund rh(13×0.7 = 9.1) = 9; person 4; account 4.
    "half_fen_line_amount": Case(
        (line(1, "A", "0.125", "1"),),
        (13, 0, 0, 0, 13, 0, 9, 4, 0, 99996),
        ((13, 13, 0, 0, 0, 13),)),
    # A 0.124×1: 12.4 fen → 12; fund rh(8.4) = 8; person 4.
    "below_half_fen_line_amount": Case(
        (line(1, "A", "0.124", "1"),),
        (12, 0, 0, 0, 12, 0, 8, 4, 0, 99996),
        ((12, 12, 0, 0, 0, 12),)),
    # A 0.15×1 = 15 fen; fund rh(15×0.7 = 10.5) = 11 (half up); person 4.
    "half_fen_fund_ratio": Case(
        (line(1, "A", "0.15", "1"),),
        (15, 0, 0, 0, 15, 0, 11, 4, 0, 99996),
        ((15, 15, 0, 0, 0, 15),)),
    # B 0.25×1, 10 %: capped 25, pre rh(2.5) = 3, in 22; fund rh(15.4) = 15; person 10.
    "half_fen_pay_first": Case(
        (line(1, "B", "0.25", "1", ratio=1000),),
        (25, 0, 0, 3, 22, 0, 15, 10, 0, 99990),
        ((25, 25, 0, 0, 3, 22),)),
    # A 0.125 (cap 0.115)×1: amount rh(12.5) = 13, capped rh(11.5) = 12, over 1;
    # fund rh(8.4) = 8; person 5; account 5−1 = 4; cash 1.
    "half_fen_amount_and_cap": Case(
        (line(1, "A", "0.125", "1", cap="0.115"),),
        (13, 1, 0, 0, 12, 0, 8, 4, 1, 99996),
        ((13, 12, 1, 0, 0, 12),)),
    # Two lines A 0.125×1: rounded per line, 13 + 13 = 26 (not rh(25) = 25);
    # fund rh(18.2) = 18; person 8.
    "rounding_per_line": Case(
        (line(1, "A", "0.125", "1"), line(2, "A", "0.125", "1")),
        (26, 0, 0, 0, 26, 0, 18, 8, 0, 99992),
        ((13, 13, 0, 0, 0, 13), (13, 13, 0, 0, 0, 13))),
    # A 0.005×1 = 0.5 fen → 1; fund rh(0.7) = 1; person 0: nothing for the person.
    "half_fen_tiny_price": Case(
        (line(1, "A", "0.005", "1"),),
        (1, 0, 0, 0, 1, 0, 1, 0, 0, 100000),
        ((1, 1, 0, 0, 0, 1),)),
    # A 12.34×0.3333 = 4.112922 yuan = 411.2922 fen → 411; fund rh(287.7) = 288;
    # person 123.
    "quantity_four_decimals": Case(
        (line(1, "A", "12.34", "0.3333"),),
        (411, 0, 0, 0, 411, 0, 288, 123, 0, 99877),
        ((411, 411, 0, 0, 0, 411),)),
    # A 1.234567×3 = 3.703701 yuan = 370.3701 fen → 370; fund rh(259.0) = 259;
    # person 111.
    "price_six_decimals": Case(
        (line(1, "A", "1.234567", "3"),),
        (370, 0, 0, 0, 370, 0, 259, 111, 0, 99889),
        ((370, 370, 0, 0, 0, 370),)),
    # A 3.141593×2.7183 = 6.283186 + 2.1991151 + 0.0574911519 = 8.5397922519 yuan
    # = 853.979… fen → 854; fund rh(597.8) = 598; person 256.
    "price_six_and_quantity_four_decimals": Case(
        (line(1, "A", "3.141593", "2.7183"),),
        (854, 0, 0, 0, 854, 0, 598, 256, 0, 99744),
        ((854, 854, 0, 0, 0, 854),)),
    # B 10.00, pay-first 100 %: pre 1000, in 0; fund 0; the account may pay pre-self:
    # 1000; balance 99000.
    "class_b_ratio_full": Case(
        (line(1, "B", "10.00", "1", ratio=10000),),
        (1000, 0, 0, 1000, 0, 0, 0, 1000, 0, 99000),
        ((1000, 1000, 0, 0, 1000, 0),)),
    # A 10.00 with ratio 1000 and C 10.00 with ratio 10000: the ratio only counts for B.
    # A in 1000, C full 1000; fund 700; person 1300; account 1300−1000 = 300; cash 1000.
    "ratio_ignored_for_a_and_c": Case(
        (line(1, "A", "10.00", "1", ratio=1000), line(2, "C", "10.00", "1", ratio=10000)),
        (2000, 0, 1000, 0, 1000, 0, 700, 300, 1000, 99700),
        ((1000, 1000, 0, 0, 0, 1000), (1000, 1000, 0, 1000, 0, 0))),
    # Retired, community (75 %): A 100.00: fund 7500; person 2500; balance 97500.
    "retired_community": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 7500, 2500, 0, 97500),
        ((10000, 10000, 0, 0, 0, 10000),),
        terms=RETIRED),
    # Retired, pooled 200000 (the in-service cap, see yearly_cap_already_reached) but
    # cap 250000: min(7500, 50000) = 7500; person 2500.
    "retired_cap_above_in_service_cap": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 7500, 2500, 0, 97500),
        ((10000, 10000, 0, 0, 0, 10000),),
        terms=RETIRED, counters=Counters(20000, 200000, 100000)),
    # In-service tier 3 (50 %): A 100.00: fund 5000; person 5000; balance 95000.
    "in_service_tier3": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 5000, 5000, 0, 95000),
        ((10000, 10000, 0, 0, 0, 10000),),
        terms=terms(ratio=5000)),
    # Retired tier 3 (55 %): fund 5500; person 4500; balance 95500.
    "retired_tier3": Case(
        (line(1, "A", "100.00", "1"),),
        (10000, 0, 0, 0, 10000, 0, 5500, 4500, 0, 95500),
        ((10000, 10000, 0, 0, 0, 10000),),
        terms=terms(ratio=5500, cap=250000)),
    # Inpatient tier 2, deductible 50000 per ADMISSION: the used counter (50000) is taken
    # as 0; A 1000.00 = 100000; ded 50000; fund rh(50000×0.85) = 42500; person 57500;
    # account min(20000, 57500) = 20000; cash 37500; balance 0.
    "inpatient_deductible_per_admission": Case(
        (line(1, "A", "1000.00", "1"),),
        (100000, 0, 0, 0, 100000, 50000, 42500, 20000, 37500, 0),
        ((100000, 100000, 0, 0, 0, 100000),),
        terms=terms(50000, 8500, 40000000, scope="ADMISSION"),
        counters=Counters(50000, 0, 20000)),
    # Resident tier 1: no deductible, 60 %, cap 20000, no account (balance 0):
    # A 40.00 = 4000; fund rh(2400) = 2400; person 1600 all cash.
    "resident_primary_care": Case(
        (line(1, "A", "40.00", "1"),),
        (4000, 0, 0, 0, 4000, 0, 2400, 0, 1600, 0),
        ((4000, 4000, 0, 0, 0, 4000),),
        terms=terms(0, 6000, 20000), counters=Counters(0, 0, 0)),
    # Resident, pooled 19000 of 20000: fund min(2400, 1000) = 1000; person 3000 cash.
    "resident_cap_crossed": Case(
        (line(1, "A", "40.00", "1"),),
        (4000, 0, 0, 0, 4000, 0, 1000, 0, 3000, 0),
        ((4000, 4000, 0, 0, 0, 4000),),
        terms=terms(0, 6000, 20000), counters=Counters(0, 19000, 0)),
}


def claim_tuple(split: ClaimSplit) -> tuple[int, ...]:
    return (split.total, split.over_limit, split.full_self_pay, split.pre_self_pay,
            split.in_scope, split.deductible, split.fund_pay, split.account_pay,
            split.cash_pay, split.balance_after)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_worked_case_splits_to_the_fen(case: Case) -> None:
    split = adjudicate(case.lines, case.terms, case.counters, use_account=case.use_account)

    assert claim_tuple(split) == case.claim
    assert [(p.amount, p.capped, p.over_limit, p.full_self_pay, p.pre_self_pay, p.in_scope)
            for p in split.lines] == list(case.line_parts)
    assert [p.line_no for p in split.lines] == [ln.line_no for ln in case.lines]
    assert (split.policy_id, split.policy_version) == ("TEST", 1)
    split.check_identities()


def test_there_are_at_least_25_worked_cases() -> None:
    assert len(CASES) >= 25


def test_line_echoes_applied_ratio_and_cap() -> None:
    b = split_line(line(1, "B", "30.00", "4", cap="25.00", ratio=2000))
    a = split_line(line(2, "A", "10.00", "1", ratio=1000))
    assert (b.ratio_bp, b.price_cap, b.item_class, b.item_code) == (
        2000, Decimal("25.00"), "B", "ITEM001")
    assert (a.ratio_bp, a.price_cap) == (0, None)


def test_deductible_spreads_over_a_sequence_of_claims() -> None:
    """Counters carry over on capture: used += ded, pooled += fund, balance −= account."""
    counters = Counters(0, 0, 50000)
    steps = [
        # A 80.00 = 8000: ded min(8000, 20000) = 8000, fund 0, account 8000 → 42000.
        ("80.00", (8000, 0, 0, 0, 8000, 8000, 0, 8000, 0, 42000), Counters(8000, 0, 42000)),
        # A 100.00 = 10000: ded min(10000, 12000) = 10000, fund 0 → balance 32000.
        ("100.00", (10000, 0, 0, 0, 10000, 10000, 0, 10000, 0, 32000),
         Counters(18000, 0, 32000)),
        # A 50.00 = 5000: ded min(5000, 2000) = 2000; fund rh(3000×0.7) = 2100;
        # person 2900 → balance 29100.
        ("50.00", (5000, 0, 0, 0, 5000, 2000, 2100, 2900, 0, 29100),
         Counters(20000, 2100, 29100)),
        # A 10.00 = 1000: ded 0; fund 700; person 300 → balance 28800.
        ("10.00", (1000, 0, 0, 0, 1000, 0, 700, 300, 0, 28800), Counters(20000, 2800, 28800)),
    ]
    for price, expected, after in steps:
        split = adjudicate([line(1, "A", price, "1")], EMP, counters, use_account=True)
        assert claim_tuple(split) == expected
        counters = counters.captured(split)
        assert counters == after


# ---------------------------------------------------------------- refunds by hand

TWO_A = (line(1, "A", "300.00", "1"), line(2, "A", "100.00", "1"))
FRESH = Counters(0, 0, 100000)


def two_a_split() -> ClaimSplit:
    # IN 40000; ded 20000; fund rh(20000×0.7) = 14000; person 26000 = account; 74000.
    split = adjudicate(TWO_A, EMP, FRESH, use_account=True)
    assert claim_tuple(split) == (40000, 0, 0, 0, 40000, 20000, 14000, 26000, 0, 74000)
    return split


def refund_tuple(parts) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return (parts.total, parts.over_limit, parts.full_self_pay, parts.pre_self_pay,
            parts.in_scope, parts.deductible, parts.fund_pay, parts.account_pay,
            parts.cash_pay)


def test_partial_refund_gives_back_the_fund_the_returned_line_earned() -> None:
    # Keep line 1 (30000): ded 20000, fund 7000, account 23000 (case
    # deductible_unused_claim_above_it). Back: total 10000, in 10000, ded 0,
    # fund 14000−7000 = 7000, account 26000−23000 = 3000.
    parts = refund(TWO_A, two_a_split(), FRESH, EMP, returned_line_nos=[2], kind="ALL",
                   use_account=True)
    assert refund_tuple(parts) == (10000, 0, 0, 0, 10000, 0, 7000, 3000, 0)
    assert parts.release == CounterRelease(deductible_used=0, pooled_paid=7000, balance=3000)
    assert parts.remaining is not None and parts.remaining.fund_pay == 7000


def test_partial_refund_gives_back_deductible() -> None:
    # Keep line 2 (10000): ded 10000, fund 0, account 10000. Back: total 30000,
    # in 30000, ded 20000−10000 = 10000, fund 14000, account 16000.
    parts = refund(TWO_A, two_a_split(), FRESH, EMP, returned_line_nos=[1], kind="ALL",
                   use_account=True)
    assert refund_tuple(parts) == (30000, 0, 0, 0, 30000, 10000, 14000, 16000, 0)
    assert parts.release == CounterRelease(10000, 14000, 16000)
    # Captured, the claim left (20000, 14000, 74000); after the refund the counters are
    # what capturing only the kept line would have left: (10000, 0, 90000).
    captured = FRESH.captured(two_a_split())
    assert captured == Counters(20000, 14000, 74000)
    assert parts.remaining is not None
    assert parts.release.applied_to(captured) == FRESH.captured(parts.remaining)
    assert parts.release.applied_to(captured) == Counters(10000, 0, 90000)


def test_hi_refund_gives_back_fund_and_account_only() -> None:
    # As above, HI: total = fund 14000 + account 16000 = 30000; fee parts 0;
    # the counters move back as for ALL.
    parts = refund(TWO_A, two_a_split(), FRESH, EMP, returned_line_nos=[1], kind="HI",
                   use_account=True)
    assert refund_tuple(parts) == (30000, 0, 0, 0, 0, 0, 14000, 16000, 0)
    assert parts.release == CounterRelease(10000, 14000, 16000)


def test_cash_refund_of_a_returned_class_c_line() -> None:
    # mixed_basket_deductible_unused, return the C line (5100). Kept: total 19000,
    # ded 17000, fund 0, person 19000, account 19000−1000 = 18000, cash 1000.
    # ALL back: total 5100, full 5100, cash 6100−1000 = 5100. CASH: the same cash only.
    case = CASES["mixed_basket_deductible_unused"]
    split = adjudicate(case.lines, EMP, case.counters, use_account=True)
    everything = refund(case.lines, split, case.counters, EMP, returned_line_nos=[3],
                        kind="ALL", use_account=True)
    cash = refund(case.lines, split, case.counters, EMP, returned_line_nos=[3],
                  kind="CASH", use_account=True)
    assert refund_tuple(everything) == (5100, 0, 5100, 0, 0, 0, 0, 0, 5100)
    assert refund_tuple(cash) == (5100, 0, 0, 0, 0, 0, 0, 0, 5100)
    assert cash.release == CounterRelease()


def test_full_refund_returns_every_part_exactly() -> None:
    case = CASES["mixed_basket_deductible_unused"]
    split = adjudicate(case.lines, EMP, case.counters, use_account=True)
    parts = refund(case.lines, split, case.counters, EMP, returned_line_nos=[1, 2, 3, 4],
                   kind="ALL", use_account=True)
    assert refund_tuple(parts) == (24100, 1000, 5100, 1000, 17000, 17000, 0, 18000, 6100)
    assert parts.release == CounterRelease(17000, 0, 18000)
    assert parts.remaining is None


@pytest.mark.parametrize(("returned", "kind"), [([], "ALL"), ([9], "ALL"), ([1], "SOME")])
def test_refund_refuses_bad_requests(returned: list[int], kind: str) -> None:
    with pytest.raises(DomainError) as err:
        refund(TWO_A, two_a_split(), FRESH, EMP, returned_line_nos=returned,
               kind=kind, use_account=True)  # type: ignore[arg-type]
    assert err.value.reason == "INVALID_ARGUMENT"


def test_partial_refund_refuses_a_split_its_lines_do_not_give() -> None:
    with pytest.raises(DomainError) as err:
        refund(TWO_A, two_a_split(), Counters(20000, 0, 100000), EMP,
               returned_line_nos=[1], kind="ALL", use_account=True)
    assert err.value.reason == "INVALID_ARGUMENT"


# ------------------------------------------------------------------- validation

@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"unit_price": Decimal("0")}, "INVALID_ARGUMENT"),
    ({"unit_price": Decimal("-1")}, "INVALID_ARGUMENT"),
    ({"unit_price": Decimal("1.0000001")}, "INVALID_ARGUMENT"),
    ({"unit_price": 1.5}, "INVALID_ARGUMENT"),
    ({"unit_price": Decimal("NaN")}, "INVALID_ARGUMENT"),
    ({"quantity": Decimal("0")}, "QUANTITY_INVALID"),
    ({"quantity": Decimal("-2")}, "QUANTITY_INVALID"),
    ({"quantity": Decimal("1.00001")}, "QUANTITY_INVALID"),
    ({"quantity": Decimal("0.0001")}, "QUANTITY_INVALID"),  # the amount rounds to 0 fen
    ({"unit_price": Decimal("0.004")}, "QUANTITY_INVALID"),
    ({"price_cap": Decimal("0")}, "INVALID_ARGUMENT"),
    ({"pre_self_pay_ratio_bp": 10001}, "INVALID_ARGUMENT"),
    ({"pre_self_pay_ratio_bp": -1}, "INVALID_ARGUMENT"),
    ({"item_class": "D"}, "INVALID_ARGUMENT"),
    ({"item_code": ""}, "INVALID_ARGUMENT"),
])
def test_invalid_line_is_refused_naming_the_line(kwargs: dict, reason: str) -> None:
    fields = {"line_no": 7, "item_code": "X", "item_class": "B", "unit_price": Decimal("1"),
              "quantity": Decimal("1"), "price_cap": None, "pre_self_pay_ratio_bp": 0}
    with pytest.raises(DomainError) as err:
        ClaimLine(**(fields | kwargs))
    assert err.value.reason == reason
    assert "line 7" in err.value.message


def test_trailing_zeros_do_not_count_as_places() -> None:
    assert split_line(line(1, "A", "1.50000000", "2.000000")).amount == 300


def test_empty_claim_and_duplicate_lines_are_refused() -> None:
    with pytest.raises(DomainError) as empty:
        adjudicate([], EMP, EXHAUSTED, use_account=True)
    assert empty.value.reason == "BASKET_EMPTY"
    with pytest.raises(DomainError) as dup:
        adjudicate([line(3, "A", "1", "1"), line(3, "A", "2", "1")], EMP, EXHAUSTED,
                   use_account=True)
    assert dup.value.reason == "INVALID_ARGUMENT" and "line 3" in dup.value.message


def test_bad_terms_and_counters_are_refused() -> None:
    with pytest.raises(DomainError):
        terms(ratio=10001)
    with pytest.raises(DomainError):
        Counters(balance=-1)
