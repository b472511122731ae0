"""Authorize, Capture, Void, Refund, hold expiry and daily totals through real processes."""

from __future__ import annotations

import time
import uuid

import pytest
from cardtest import (
    COMMUNITY,
    OUTPATIENT,
    PHARMACY,
    Holder,
    as_service,
    count,
    ledger_problems,
    line,
    pb,
    refusal,
    rid,
    start_card,
)

from medpay.common.v1 import insurance_pb2 as ins

pytestmark = pytest.mark.db

HOLD_TTL_S = 30
BAD_INPUT_SHOP = "P0BADINPUT01"


@pytest.fixture(scope="module")
def issuer(module_stack, tmp_path_factory):
    start_card(module_stack, tmp_path_factory.mktemp("keys"), hold_ttl_s=str(HOLD_TTL_S),
               hold_sweep_interval_s="0.2")
    return module_stack


def merchant() -> str:
    return "P" + uuid.uuid4().hex[:11].upper()


def authorize(stack, holder, lines, *, at: str, service: str = "pharmacy", **extra):
    fields = dict(request_id=rid("auth"), merchant_id=at, medical_type=OUTPATIENT,
                  level=COMMUNITY, use_personal_account=True, lines=lines,
                  acquirer_reference=f"S-{uuid.uuid4().hex[:6]}") | holder.subject(service, at) | extra
    return as_service(stack, service).Authorize(pb.AuthorizeRequest(**fields))


def capture(stack, hold_id, service="pharmacy", request_id=None):
    return as_service(stack, service).Capture(pb.CaptureRequest(request_id=request_id or rid(),
                                                                hold_id=hold_id))


def void(stack, hold_id, service="pharmacy"):
    return as_service(stack, service).Void(pb.VoidRequest(request_id=rid(), hold_id=hold_id))


def refund(stack, hold_id, kind=ins.REFUND_KIND_ALL, lines=()):
    return as_service(stack).Refund(pb.RefundRequest(request_id=rid(), hold_id=hold_id, kind=kind,
                                                     line_nos=list(lines)))


def consistent(holder) -> pb.GetAccountResponse:
    """GetAccount agrees with the sum of the holder's entries; the ledger balances."""
    account, entries = holder.account(), holder.entries()
    assert account.balance.amount_fen == sum(e.amount.amount_fen for e in entries)
    assert account.held.amount_fen == sum(e.held_change.amount_fen for e in entries)
    assert account.available.amount_fen == account.balance.amount_fen - account.held.amount_fen >= 0
    assert ledger_problems(holder.stack) == []
    return account


def test_authorize_holds_and_capture_books(issuer):
    holder, shop = Holder(issuer, balance=100_000), merchant()
    # total 52000: deductible 20000 first, fund 70 % of the other 30000 = 21000; the person
    # owes 31000, of which the class-C 2000 is cash and the account pays 29000
    auth = authorize(issuer, holder, [line(1, "A", "500"), line(2, "C", "20")], at=shop)
    split = auth.split
    assert (split.deductible.amount_fen, split.fund_pay.amount_fen, split.account_pay.amount_fen,
            split.cash_pay.amount_fen, split.balance_after.amount_fen) == (
        20000, 21000, 29000, 2000, 71_000)
    held = consistent(holder)
    assert (held.balance.amount_fen, held.held.amount_fen, held.available.amount_fen) == \
        (100_000, 29000, 71_000)
    booked = capture(issuer, auth.hold_id)
    assert booked.split.balance_after.amount_fen == 71_000 and booked.issuer_reference
    after = consistent(holder)
    assert (after.balance.amount_fen, after.held.amount_fen) == (71_000, 0)
    counter = next(c for c in after.counters if c.medical_type == OUTPATIENT)
    assert (counter.deductible_used.amount_fen, counter.pooled_fund_paid.amount_fen) == (20000, 21000)
    kinds = [e.kind for e in holder.entries()][:2]
    assert kinds == [pb.ACCOUNT_ENTRY_KIND_SETTLEMENT, pb.ACCOUNT_ENTRY_KIND_HOLD]
    # the next claim sees the deductible used and the fund already paid
    second = authorize(issuer, holder, [line(1, "A", "100")], at=shop)
    assert (second.split.deductible.amount_fen, second.split.fund_pay.amount_fen) == (0, 7000)


def test_authorize_is_idempotent_by_request_id(issuer):
    holder, shop = Holder(issuer, balance=5000), merchant()
    request = pb.AuthorizeRequest(request_id=rid(), **holder.subject("pharmacy", shop),
                                  merchant_id=shop, medical_type=PHARMACY, level=COMMUNITY,
                                  pooling_applies=False, use_personal_account=True,
                                  lines=[line(1, "A", "30")])
    first = as_service(issuer).Authorize(request)
    assert as_service(issuer).Authorize(request) == first
    assert holder.account().held.amount_fen == 3000
    request.lines[0].unit_price = "31"
    assert refusal(as_service(issuer).Authorize, request)[0] == "IDEMPOTENCY_MISMATCH"
    assert holder.account().held.amount_fen == 3000


def test_each_step_refuses_what_the_hold_state_forbids(issuer):
    holder, shop = Holder(issuer, balance=50_000), merchant()
    voided = authorize(issuer, holder, [line(1, "A", "10")], at=shop).hold_id
    void(issuer, voided)
    void(issuer, voided)  # releasing twice is fine
    assert refusal(as_service(issuer).Capture, pb.CaptureRequest(request_id=rid(), hold_id=voided))[0] \
        == "HOLD_VOIDED"
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=voided, kind=ins.REFUND_KIND_ALL))[0] == "HOLD_VOIDED"
    open_hold = authorize(issuer, holder, [line(1, "A", "10")], at=shop).hold_id
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=open_hold, kind=ins.REFUND_KIND_ALL))[0] == "HOLD_NOT_CAPTURED"
    retry_id = rid()
    first = capture(issuer, open_hold, request_id=retry_id)
    assert capture(issuer, open_hold, request_id=retry_id) == first
    assert refusal(as_service(issuer).Capture, pb.CaptureRequest(request_id=rid(), hold_id=open_hold))[0] \
        == "HOLD_ALREADY_CAPTURED"
    assert refusal(as_service(issuer).Void, pb.VoidRequest(request_id=rid(), hold_id=open_hold))[0] \
        == "HOLD_ALREADY_CAPTURED"
    assert refusal(as_service(issuer, "billing").Capture, pb.CaptureRequest(
        request_id=rid(), hold_id=open_hold))[0] == "HOLD_NOT_FOUND"
    assert refusal(as_service(issuer).Void, pb.VoidRequest(request_id=rid(), hold_id="hold_x"))[0] \
        == "HOLD_NOT_FOUND"
    consistent(holder)


def test_refunds_by_lines_then_the_rest_return_everything(issuer):
    holder, shop = Holder(issuer, balance=100_000), merchant()
    lines = [line(1, "A", "300"), line(2, "B", "50", "2", ratio=1000), line(3, "C", "12.34")]
    auth = authorize(issuer, holder, lines, at=shop)
    capture(issuer, auth.hold_id)
    first = refund(issuer, auth.hold_id, lines=[2])
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=auth.hold_id, kind=ins.REFUND_KIND_ALL, line_nos=[2]))[0] == \
        "ALREADY_REFUNDED"
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=auth.hold_id, kind=ins.REFUND_KIND_ALL, line_nos=[7]))[1] == \
        {"field": "line_nos", "lineNo": "7"}
    rest = refund(issuer, auth.hold_id)
    for part in ("fund_pay", "account_pay", "cash_pay", "deductible", "total"):
        assert (getattr(first.refunded, part).amount_fen + getattr(rest.refunded, part).amount_fen
                == getattr(auth.split, part).amount_fen), part
    account = consistent(holder)
    assert account.balance.amount_fen == 100_000 and rest.balance_after.amount_fen == 100_000
    counter = next(c for c in account.counters if c.medical_type == OUTPATIENT)
    assert (counter.deductible_used.amount_fen, counter.pooled_fund_paid.amount_fen) == (0, 0)
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=auth.hold_id, kind=ins.REFUND_KIND_ALL))[0] == "ALREADY_REFUNDED"


def test_cash_and_insurance_refunds_are_separate_and_cannot_be_taken_twice(issuer):
    holder, shop = Holder(issuer, balance=100_000), merchant()
    auth = authorize(issuer, holder, [line(1, "A", "400"), line(2, "C", "30")], at=shop)
    capture(issuer, auth.hold_id)
    cash = refund(issuer, auth.hold_id, ins.REFUND_KIND_CASH)
    assert cash.refunded.cash_pay.amount_fen == auth.split.cash_pay.amount_fen
    assert cash.refunded.account_pay.amount_fen == 0
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=auth.hold_id, kind=ins.REFUND_KIND_ALL))[0] == "REFUND_EXCEEDS_PAID"
    assert refusal(as_service(issuer).Refund, pb.RefundRequest(
        request_id=rid(), hold_id=auth.hold_id, kind=ins.REFUND_KIND_CASH))[0] == "ALREADY_REFUNDED"
    hi = refund(issuer, auth.hold_id, ins.REFUND_KIND_HI)
    assert (hi.refunded.fund_pay.amount_fen, hi.refunded.account_pay.amount_fen) == (
        auth.split.fund_pay.amount_fen, auth.split.account_pay.amount_fen)
    assert consistent(holder).balance.amount_fen == 100_000


def test_an_uncaptured_hold_expires_and_is_released_by_the_sweep(issuer):
    holder, shop = Holder(issuer, balance=20_000), merchant()
    auth = authorize(issuer, holder, [line(1, "A", "50")], at=shop, pooling_applies=False)
    assert holder.account().held.amount_fen == 5000
    issuer.move_clock(HOLD_TTL_S + 1)
    deadline = time.monotonic() + 10
    while holder.account().held.amount_fen and time.monotonic() < deadline:
        time.sleep(0.1)
    account = consistent(holder)
    assert (account.held.amount_fen, account.available.amount_fen) == (0, 20_000)
    assert refusal(as_service(issuer).Capture, pb.CaptureRequest(
        request_id=rid(), hold_id=auth.hold_id))[0] == "HOLD_EXPIRED"
    void(issuer, auth.hold_id)  # nothing left to release: fine
    assert holder.entries()[0].kind == pb.ACCOUNT_ENTRY_KIND_RELEASE


BAD_CLAIMS = [
    ({"lines": []}, "BASKET_EMPTY", "lines"),
    ({"lines": [line(i, "A", "1") for i in range(1, 202)]}, "TOO_MANY_LINES", "lines"),
    ({"lines": [line(1, "A", "1e3")]}, "INVALID_ARGUMENT", "lines[0].unit_price"),
    ({"lines": [line(1, "A", "-5")]}, "INVALID_ARGUMENT", "lines[0].unit_price"),
    ({"lines": [line(1, "A", "1.1234567")]}, "INVALID_ARGUMENT", "lines[0].unit_price"),
    ({"lines": [line(1, "A", "5", "0")]}, "QUANTITY_INVALID", "lines[0].quantity"),
    ({"lines": [line(1, "A", "5", "1.00001")]}, "QUANTITY_INVALID", "lines[0].quantity"),
    ({"lines": [line(1, "A", "5", cap="abc")]}, "INVALID_ARGUMENT", "lines[0].price_cap"),
    ({"lines": [line(1, "B", "5", ratio=10_001)]}, "INVALID_ARGUMENT", "lines[0].pre_self_pay_ratio_bp"),
    ({"lines": [line(1, "A", "5"), line(1, "A", "6")]}, "INVALID_ARGUMENT", "lines[1].line_no"),
    ({"lines": [line(0, "A", "5")]}, "INVALID_ARGUMENT", "lines[0].line_no"),
    ({"medical_type": 99}, "INVALID_ARGUMENT", "medical_type"),
    ({"level": 0}, "INVALID_ARGUMENT", "level"),
    ({"merchant_id": ""}, "INVALID_ARGUMENT", "merchant_id"),
    ({"card_id": None}, "INVALID_ARGUMENT", "subject"),
    ({"card_id": "card_nobody"}, "PERMISSION_DENIED", None),  # no mandate for it
    ({"request_id": ""}, "INVALID_ARGUMENT", None),
]


@pytest.mark.parametrize(("override", "reason", "field"), BAD_CLAIMS)
def test_bad_authorize_input_is_refused_naming_the_field_and_books_nothing(issuer, override, reason,
                                                                           field):
    holder = getattr(issuer, "bad_input_holder", None) or Holder(issuer, balance=1000)
    issuer.bad_input_holder = holder
    holder.mandate(BAD_INPUT_SHOP)
    bad_line = pb.AuthorizeRequest().lines.add()
    bad_line.CopyFrom(line(1, "A", "5"))
    bad_line.item_class = 0
    fields = dict(request_id=rid(), card_id=holder.card_id, merchant_id=BAD_INPUT_SHOP,
                  medical_type=OUTPATIENT, level=COMMUNITY, use_personal_account=True,
                  lines=[line(1, "A", "5")]) | override
    request = pb.AuthorizeRequest(**{k: v for k, v in fields.items() if v is not None})
    before = (count(issuer, "holds"), count(issuer, "ledger_entries"))
    got, metadata = refusal(as_service(issuer, "billing").Authorize, request)
    assert (got, metadata.get("field")) == (reason, field)
    request.lines.clear()
    request.lines.append(bad_line)
    assert refusal(as_service(issuer, "billing").Authorize, request)[0] in ("INVALID_ARGUMENT", reason)
    assert (count(issuer, "holds"), count(issuer, "ledger_entries")) == before


def test_daily_totals_net_captures_and_refunds_per_merchant(issuer):
    holder, shop = Holder(issuer, balance=100_000), merchant()
    one = authorize(issuer, holder, [line(1, "A", "100"), line(2, "C", "5")], at=shop,
                    acquirer_reference="S-1")
    two = authorize(issuer, holder, [line(1, "A", "60")], at=shop, acquirer_reference="S-2")
    other = authorize(issuer, holder, [line(1, "A", "70")], at=merchant())
    day = capture(issuer, one.hold_id).business_date
    capture(issuer, two.hold_id)
    capture(issuer, other.hold_id)
    back = refund(issuer, two.hold_id)
    totals = as_service(issuer).GetDailyTotals(pb.GetDailyTotalsRequest(
        merchant_id=shop, business_date=day, include_rows=True))
    assert totals.count == 3 and [r.refund for r in totals.rows] == [False, False, True]
    assert [r.acquirer_reference for r in totals.rows] == ["S-1", "S-2", "S-2"]
    assert totals.rows[2].refund_id == back.refund_id and totals.rows[2].total.amount_fen < 0
    for part in ("total", "fund_pay", "account_pay", "cash_pay"):  # two was wholly refunded
        assert getattr(totals, part).amount_fen == getattr(one.split, part).amount_fen
    assert as_service(issuer, "billing").GetDailyTotals(pb.GetDailyTotalsRequest(
        merchant_id=shop, business_date=day)).count == 0
    assert as_service(issuer).GetDailyTotals(pb.GetDailyTotalsRequest(
        merchant_id=shop, business_date=day, insurance_type=ins.INSURANCE_TYPE_RESIDENT_BASIC)).count == 0
    assert refusal(as_service(issuer).GetDailyTotals, pb.GetDailyTotalsRequest(
        merchant_id=shop, business_date="2026-02-30"))[1] == {"field": "business_date"}
