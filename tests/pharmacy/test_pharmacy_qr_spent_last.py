"""A scanned code is spent last: only when its payment context pays (card's Authorize).

A PreSettle or Settle refused for anything else (a basket reason) leaves the code usable,
so the till corrects the basket and tries again with the same code under a new request_id.
A code that paid, or is paying, a sale is QR_ALREADY_USED here and at any other merchant.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import grpc
import pytest
from pharmacy_till import AMOXICILLIN, VITAMIN_C, line, refusal

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.client import error_reason

pytestmark = pytest.mark.db

BAD_BASKETS = {
    "unknown item": ([line(1, AMOXICILLIN), line(2, "NOT-A-CODE")], "ITEM_NOT_IN_CATALOGUE"),
    "price above catalogue": ([line(1, AMOXICILLIN, "1", "12.51")], "PRICE_ABOVE_CATALOGUE"),
    "zero-fen line": ([line(1, AMOXICILLIN), line(2, VITAMIN_C, "1", "0.004")],
                      "QUANTITY_INVALID"),
    "too many lines": ([line(i, AMOXICILLIN) for i in range(1, 102)], "TOO_MANY_LINES"),
}


def parts(split) -> tuple[int, int, int, int]:
    return (split.total.amount_fen, split.fund_pay.amount_fen, split.account_pay.amount_fen,
            split.cash_pay.amount_fen)


def settlements_of(till) -> list[pb.Receipt]:
    return list(till.stub.ListSettlements(pb.ListSettlementsRequest(), timeout=30).settlements)


@pytest.mark.parametrize("case", BAD_BASKETS)
def test_a_sale_refused_for_its_basket_leaves_the_code_usable(world, case):
    lines, reason = BAD_BASKETS[case]
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    qr = world.qr(person)
    for call in (till.presettle, till.settle, till.presettle, till.settle):
        r = refusal(call, qr, lines=lines)
        assert (r.code, r.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert settlements_of(till) == []
    pre = till.presettle(qr)  # the corrected basket, the same code
    receipt = till.settle(qr).receipt
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
    assert parts(receipt.split) == parts(pre.split)
    assert world.balance(person) == before - receipt.split.account_pay.amount_fen
    r = refusal(till.settle, qr)  # now it is spent
    assert (r.code, r.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "QR_ALREADY_USED")
    assert [s.settlement_id for s in settlements_of(till)] == [receipt.settlement_id]


def test_an_exchanged_code_is_corrected_and_settled_here_and_spent_everywhere(world):
    till = world.pharmacy()
    other = world.pharmacy()
    person = world.insured()
    qr = world.qr(person)
    first = till.presettle(qr, lines=[line(1, AMOXICILLIN, "3")])  # exchanged here
    again = till.presettle(qr)  # the person changed the basket: same code, same context
    assert again.payment_context_id == first.payment_context_id
    assert parts(again.split) != parts(first.split)
    assert refusal(other.presettle, qr).reason == "QR_ALREADY_USED"  # bound to this pharmacy
    for lines, reason in BAD_BASKETS.values():
        assert refusal(till.settle, qr, lines=lines).reason == reason
    receipt = till.settle(qr).receipt
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
    assert parts(receipt.split) == parts(again.split)
    for call in (till.presettle, till.settle, other.settle):
        r = refusal(call, qr)
        assert (r.code, r.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "QR_ALREADY_USED")
        assert "settlementId" not in r.metadata  # refused before any intent was written
    assert refusal(till.settle, context=first.payment_context_id).reason == \
        "PAYMENT_CONTEXT_INVALID"  # the context paid once
    assert len([s for s in settlements_of(till)
                if s.status == pb.SETTLEMENT_STATUS_COMPLETED]) == 1


def test_a_retry_with_the_same_request_id_still_replays(world):
    till = world.pharmacy()
    qr = world.qr(world.insured())
    assert refusal(till.settle, qr, request_id="spent-last-1",
                   lines=BAD_BASKETS["unknown item"][0]).reason == "ITEM_NOT_IN_CATALOGUE"
    first = till.settle(qr, request_id="spent-last-1")  # nothing was stored for the refusal
    assert till.settle(qr, request_id="spent-last-1") == first
    r = refusal(till.settle, qr, request_id="spent-last-1", lines=[line(1, AMOXICILLIN)])
    assert r.reason == "IDEMPOTENCY_MISMATCH"


def test_a_hold_spends_the_code_even_when_the_channel_then_declines(world):
    till = world.pharmacy()
    qr = world.qr(world.insured())
    assert refusal(till.settle, qr, payer="card-decline").reason == "CHANNEL_DECLINED"
    r = refusal(till.settle, qr)
    assert (r.code, r.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "QR_ALREADY_USED")


def test_sales_racing_on_one_code_settle_once_and_write_one_intent(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    qr = world.qr(person)
    n = 8
    barrier = Barrier(n)

    def sale(i: int):
        barrier.wait()
        try:
            return till.settle(qr, request_id=f"race-{i}").receipt
        except grpc.RpcError as exc:
            return error_reason(exc)

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(sale, range(n)))
    receipts = [o for o in outcomes if isinstance(o, pb.Receipt)]
    assert len(receipts) == 1 and receipts[0].status == pb.SETTLEMENT_STATUS_COMPLETED
    assert {o for o in outcomes if not isinstance(o, pb.Receipt)} == {"QR_ALREADY_USED"}
    assert [s.settlement_id for s in settlements_of(till)] == [receipts[0].settlement_id]
    assert world.balance(person) == before - receipts[0].split.account_pay.amount_fen
