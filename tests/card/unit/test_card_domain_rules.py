"""The card service's own domain rules: QR payloads, postings, card lifecycle, holds, refunds."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from medpay_card.domain import cards, holds, ledger, persons, qr
from medpay_card.domain.adjudication import ClaimLine, Counters, Terms, adjudicate
from medpay_card.domain.calendar import benefit_year, business_date
from medpay_card.domain.refunds import Claim, RefundTracks, plan_refund
from medpay_kit.errors import DomainError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def mac(data: bytes) -> bytes:
    return hmac.new(b"k" * 32, data, hashlib.sha256).digest()


def reason(fn, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as err:
        fn(*args, **kwargs)
    return err.value.reason


# --- QR payloads ---------------------------------------------------------------------


def test_a_qr_payload_reads_back_its_token_and_expiry():
    token = qr.QrToken(qr.derive_token_id("card_1", "r1", mac), NOW + timedelta(seconds=60))
    payload = qr.encode(token, mac)
    assert payload.startswith("MPQR1.") and len(payload) < 64
    assert qr.decode(payload, mac) == token


def test_the_same_request_id_gives_the_same_token_and_another_one_a_new_token():
    assert qr.derive_token_id("c", "r1", mac) == qr.derive_token_id("c", "r1", mac)
    assert qr.derive_token_id("c", "r1", mac) != qr.derive_token_id("c", "r2", mac)
    assert qr.derive_token_id("c", "r1", mac) != qr.derive_token_id("d", "r1", mac)


@pytest.mark.parametrize("mangle", [
    lambda p: p[:-2] + ("AA" if p[-2:] != "AA" else "BB"),  # signature
    lambda p: p[:8] + ("A" if p[8] != "A" else "B") + p[9:],  # token id
    lambda p: p.replace("MPQR1.", "MPQR2."),
    lambda p: p + "A",
    lambda p: p[:20],
    lambda p: "MPQR1.!!!!",
    lambda p: "",
    lambda p: "MPQR1." + "A" * 500,
])
def test_a_tampered_or_malformed_payload_is_qr_invalid(mangle):
    payload = qr.encode(qr.QrToken(b"\x01" * 16, NOW), mac)
    assert reason(qr.decode, mangle(payload), mac) == "QR_INVALID"


def variants(payload: str) -> list[str]:
    """Texts that decode to the same bytes as ``payload`` but are not its canonical form."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(payload[-1])
    same_bits = [c for i, c in enumerate(alphabet) if i >> 4 == last >> 4 and i != last]
    found = [payload + "==", payload + "=", payload[:-1] + same_bits[0], payload + "\n",
             payload[:10] + " " + payload[10:]]
    swapped = payload.replace("-", "+").replace("_", "/")
    if swapped != payload:
        found.append(swapped)
    return found


def test_a_payload_has_one_text_form():
    payloads = [qr.encode(qr.QrToken(qr.derive_token_id("card", f"r{n}", mac), NOW), mac)
                for n in range(20)]
    assert any(c in p[len(qr.PREFIX):] for p in payloads for c in "-_")  # alphabet swaps tried
    for payload in payloads:
        assert qr.decode(payload, mac).expires_at == NOW
        for variant in variants(payload):
            assert reason(qr.decode, variant, mac) == "QR_INVALID", variant


def test_a_payload_signed_under_another_key_is_qr_invalid():
    payload = qr.encode(qr.QrToken(b"\x01" * 16, NOW), lambda d: hmac.new(b"x", d, "sha256").digest())
    assert reason(qr.decode, payload, mac) == "QR_INVALID"


def test_a_qr_code_expires_at_its_expiry_instant():
    qr.ensure_fresh(NOW, NOW - timedelta(microseconds=1))
    assert reason(qr.ensure_fresh, NOW, NOW) == "QR_EXPIRED"


# --- ledger ---------------------------------------------------------------------------


@pytest.mark.parametrize("movement", [
    ledger.opening_balance(500), ledger.credit(100), ledger.hold(70), ledger.release(70),
    ledger.settlement(70, 30, "P1"), ledger.refund(70, 30, "P1"), ledger.settlement(0, 30, "P1"),
])
def test_every_movement_balances(movement):
    assert sum(p.amount for p in movement.postings) == 0
    assert all(p.amount for p in movement.postings)


def test_the_holder_view_of_each_movement():
    assert (ledger.hold(70).balance_change, ledger.hold(70).held_change) == (0, 70)
    assert (ledger.release(70).balance_change, ledger.release(70).held_change) == (0, -70)
    settled = ledger.settlement(70, 30, "P1")
    assert (settled.balance_change, settled.held_change) == (-70, -70)
    assert settled.change("MERCHANT_CLEARING:P1") == 100 and settled.change("POOLED_FUND") == -30
    assert ledger.refund(70, 30, "P1").balance_change == 70
    assert ledger.hold(0).is_empty


def test_an_unbalanced_or_negative_movement_cannot_be_made():
    with pytest.raises(AssertionError):
        ledger.Movement("CREDIT", (ledger.Posting("PERSONAL", 5),))
    with pytest.raises(ValueError):
        ledger.credit(-5)


# --- cards and persons ----------------------------------------------------------------


def test_card_lifecycle():
    assert cards.suspend(cards.ACTIVE) == cards.SUSPENDED
    assert cards.suspend(cards.SUSPENDED) == cards.SUSPENDED
    assert cards.resume(cards.SUSPENDED, suspended_by="app", by="app") == cards.ACTIVE
    assert cards.revoke(cards.SUSPENDED) == cards.REVOKED
    assert cards.revoke(cards.REPLACED) == cards.REPLACED
    assert cards.replace(cards.ACTIVE) == cards.REPLACED
    for final in cards.FINAL:
        assert reason(cards.suspend, final) == "CARD_REVOKED"
        assert reason(cards.replace, final) == "CARD_REVOKED"
        assert reason(cards.ensure_can_pay, final) == "CARD_REVOKED"
    assert reason(cards.ensure_can_pay, cards.SUSPENDED) == "CARD_SUSPENDED"
    cards.ensure_can_pay(cards.ACTIVE)


def test_an_app_cannot_lift_a_suspension_the_operator_made():
    assert reason(cards.resume, cards.SUSPENDED, suspended_by="operator",
                  by="app") == "PERMISSION_DENIED"
    assert cards.resume(cards.SUSPENDED, suspended_by="operator", by="operator") == cards.ACTIVE


def test_register_statuses():
    persons.ensure_may_pay(persons.ACTIVE)
    assert reason(persons.ensure_may_pay, persons.SUSPENDED) == "INSURED_INACTIVE"
    assert reason(persons.ensure_may_pay, persons.TERMINATED) == "INSURED_INACTIVE"
    persons.ensure_may_be_issued_a_card(persons.SUSPENDED)
    assert reason(persons.ensure_may_be_issued_a_card, persons.TERMINATED) == "INSURED_INACTIVE"


def test_business_dates_and_years_are_china_standard_time():
    late = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert business_date(late).isoformat() == "2027-01-01" and benefit_year(late) == 2027
    assert business_date(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)).isoformat() == "2026-12-31"


# --- holds ----------------------------------------------------------------------------


def test_hold_transitions():
    later = NOW + timedelta(seconds=10)
    holds.ensure_capturable(holds.AUTHORIZED, later, NOW)
    assert reason(holds.ensure_capturable, holds.AUTHORIZED, NOW, NOW) == "HOLD_EXPIRED"
    assert reason(holds.ensure_capturable, holds.EXPIRED, later, NOW) == "HOLD_EXPIRED"
    assert reason(holds.ensure_capturable, holds.VOIDED, later, NOW) == "HOLD_VOIDED"
    assert reason(holds.ensure_capturable, holds.CAPTURED, later, NOW) == "HOLD_ALREADY_CAPTURED"
    assert holds.needs_release(holds.AUTHORIZED)
    assert not holds.needs_release(holds.VOIDED) and not holds.needs_release(holds.EXPIRED)
    assert reason(holds.needs_release, holds.CAPTURED) == "HOLD_ALREADY_CAPTURED"
    assert reason(holds.ensure_refundable, holds.AUTHORIZED) == "HOLD_NOT_CAPTURED"
    assert reason(holds.ensure_refundable, holds.VOIDED) == "HOLD_VOIDED"
    assert reason(holds.ensure_refundable, holds.EXPIRED) == "HOLD_EXPIRED"


# --- refund tracks --------------------------------------------------------------------

TERMS = Terms(deductible=20000, fund_ratio_bp=7000, yearly_cap=200000, pooling_applies=True)
START = Counters(deductible_used=20000, pooled_paid=0, balance=5000)
LINES = (
    ClaimLine(1, "X1", "A", Decimal("100"), Decimal("1")),
    ClaimLine(2, "X2", "B", Decimal("50"), Decimal("2"), pre_self_pay_ratio_bp=1000),
    ClaimLine(3, "X3", "C", Decimal("20"), Decimal("1")),
)


def claim() -> Claim:
    return Claim(LINES, adjudicate(LINES, TERMS, START, use_account=True), START, TERMS, True)


def test_cash_then_insurance_on_the_same_lines_adds_up_to_all():
    c = claim()
    tracks = RefundTracks.fresh(LINES)
    whole, _ = plan_refund(c, tracks, "ALL", [2])
    cash, tracks = plan_refund(c, tracks, "CASH", [2])
    hi, tracks = plan_refund(c, tracks, "HI", [2])
    assert cash.cash_pay + hi.cash_pay == whole.cash_pay
    assert (hi.fund_pay, hi.account_pay) == (whole.fund_pay, whole.account_pay)
    assert tracks.cash_kept == tracks.hi_kept == {1, 3}


def test_partial_refunds_then_the_rest_return_exactly_what_was_paid():
    c = claim()
    first, tracks = plan_refund(c, RefundTracks.fresh(LINES), "ALL", [1])
    rest, tracks = plan_refund(c, tracks, "ALL", [])
    for part in ("fund_pay", "account_pay", "cash_pay", "deductible"):
        assert getattr(first, part) + getattr(rest, part) == getattr(c.split, part)
    assert tracks.fully_refunded
    assert reason(plan_refund, c, tracks, "ALL", []) == "ALREADY_REFUNDED"


def test_refunding_a_line_twice_or_mixing_kinds_is_refused():
    c = claim()
    _, tracks = plan_refund(c, RefundTracks.fresh(LINES), "ALL", [1])
    assert reason(plan_refund, c, tracks, "ALL", [1]) == "ALREADY_REFUNDED"
    assert reason(plan_refund, c, tracks, "CASH", [1, 2]) == "ALREADY_REFUNDED"
    _, tracks = plan_refund(c, tracks, "CASH", [2])
    assert reason(plan_refund, c, tracks, "ALL", [3]) == "REFUND_EXCEEDS_PAID"
    assert reason(plan_refund, c, tracks, "ALL", [9]) == "INVALID_ARGUMENT"


def test_a_tampered_refund_history_cannot_return_more_than_was_paid():
    c = claim()
    inflated = RefundTracks(frozenset({1, 2, 3}), frozenset({1, 2, 3}),
                            fund_returned=c.split.fund_pay)
    assert reason(plan_refund, c, inflated, "ALL", [1]) == "REFUND_EXCEEDS_PAID"
