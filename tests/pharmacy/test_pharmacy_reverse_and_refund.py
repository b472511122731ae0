"""The two undo paths and refunds: reverse by request id (2601), cancel rules, refund kinds."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pharmacy_till import AMOXICILLIN, CEFACLOR, VITAMIN_C, line, refusal

from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db

ALL, CASH, HI = (insurance_pb2.REFUND_KIND_ALL, insurance_pb2.REFUND_KIND_CASH,
                 insurance_pb2.REFUND_KIND_HI)


def reverse(till, original: str, request_id: str | None = None):
    return till.stub.ReverseByRequestId(pb.ReverseByRequestIdRequest(
        request_id=request_id or f"rv-{uuid.uuid4()}", original_request_id=original), timeout=60)


def refund(till, settlement_id: str, kind: int, line_nos=(), request_id: str | None = None):
    return till.stub.RefundLines(pb.RefundLinesRequest(
        request_id=request_id or f"rf-{uuid.uuid4()}", settlement_id=settlement_id, kind=kind,
        line_nos=list(line_nos)), timeout=60)


def test_reversing_a_settle_that_happened_undoes_it(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    receipt = till.settle(world.qr(person), request_id="timed-out-1").receipt
    reply = reverse(till, "timed-out-1", request_id="rv-1")
    assert reply.outcome == pb.REVERSE_OUTCOME_REVERSED
    assert reply.settlement_id == receipt.settlement_id
    assert reply.receipt.status == pb.SETTLEMENT_STATUS_REVERSED
    assert world.balance(person) == before
    assert reverse(till, "timed-out-1", request_id="rv-1") == reply  # replay
    assert reverse(till, "timed-out-1").outcome == pb.REVERSE_OUTCOME_REVERSED  # already reversed
    kinds = sorted(pb.ChannelTransactionKind.Name(t.kind)
                   for t in world.channel_transactions(receipt.settlement_id))
    assert kinds == ["CHANNEL_TRANSACTION_KIND_CHARGE", "CHANNEL_TRANSACTION_KIND_REFUND"]


def test_reversing_a_settle_that_never_arrived_blocks_it_for_good(world):
    till = world.pharmacy()
    person = world.insured()
    assert reverse(till, "never-arrived").outcome == pb.REVERSE_OUTCOME_NOTHING_TO_REVERSE
    before = world.balance(person)
    r = refusal(till.settle, world.qr(person), request_id="never-arrived")
    assert r.reason == "IDEMPOTENCY_MISMATCH"  # the late Settle does not book
    assert world.balance(person) == before


def test_reversing_a_failed_settle_has_nothing_to_reverse(world):
    till = world.pharmacy()
    person = world.insured()
    refusal(till.settle, world.qr(person), request_id="declined-1", payer="x-decline")
    assert reverse(till, "declined-1").outcome == pb.REVERSE_OUTCOME_NOTHING_TO_REVERSE


def test_cash_then_hi_refunds_add_up_to_everything_and_no_more(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    lines = [line(1, AMOXICILLIN, "20"), line(2, CEFACLOR, "1"), line(3, VITAMIN_C, "2")]
    receipt = till.settle(world.qr(person), lines=lines).receipt
    paid = receipt.split
    cash = refund(till, receipt.settlement_id, CASH)
    assert cash.refunded.cash_pay.amount_fen == paid.cash_pay.amount_fen
    assert cash.refunded.fund_pay.amount_fen == cash.refunded.account_pay.amount_fen == 0
    assert cash.receipt.status == pb.SETTLEMENT_STATUS_PARTIALLY_REFUNDED
    assert refusal(refund, till, receipt.settlement_id, CASH).reason == "ALREADY_REFUNDED"
    hi = refund(till, receipt.settlement_id, HI)
    assert hi.refunded.fund_pay.amount_fen == paid.fund_pay.amount_fen
    assert hi.refunded.account_pay.amount_fen == paid.account_pay.amount_fen
    assert hi.receipt.status == pb.SETTLEMENT_STATUS_REFUNDED
    assert world.balance(person) == before
    for kind in (ALL, CASH, HI):
        assert refusal(refund, till, receipt.settlement_id, kind).reason == "ALREADY_REFUNDED"
    refunds = [t for t in world.channel_transactions(receipt.settlement_id)
               if t.kind == pb.CHANNEL_TRANSACTION_KIND_REFUND]
    assert sum(t.amount.amount_fen for t in refunds) == paid.cash_pay.amount_fen


def test_refunds_by_line_are_checked_and_idempotent(world):
    till = world.pharmacy()
    person = world.insured()
    receipt = till.settle(world.qr(person)).receipt
    assert refusal(refund, till, receipt.settlement_id, ALL, [9]).reason == "INVALID_ARGUMENT"
    assert refusal(refund, till, receipt.settlement_id, 0, [1]).reason == "INVALID_ARGUMENT"
    first = refund(till, receipt.settlement_id, ALL, [1], request_id="rf-line-1")
    assert refund(till, receipt.settlement_id, ALL, [1], request_id="rf-line-1") == first
    assert refusal(refund, till, receipt.settlement_id, ALL, [2],
                   request_id="rf-line-1").reason == "IDEMPOTENCY_MISMATCH"
    assert refusal(refund, till, receipt.settlement_id, HI, [1]).reason == "ALREADY_REFUNDED"
    assert refusal(till.stub.CancelSettlement, pb.CancelSettlementRequest(
        request_id=f"cx-{uuid.uuid4()}", settlement_id=receipt.settlement_id)).reason == \
        "SETTLEMENT_NOT_CANCELLABLE"  # partly refunded: no longer cancellable in full


def test_a_cancel_is_idempotent_and_unknown_settlements_are_not_found(world):
    till = world.pharmacy()
    person = world.insured()
    receipt = till.settle(world.qr(person)).receipt
    request = pb.CancelSettlementRequest(request_id=f"cx-{uuid.uuid4()}",
                                         settlement_id=receipt.settlement_id)
    first = till.stub.CancelSettlement(request, timeout=60)
    assert till.stub.CancelSettlement(request, timeout=60) == first
    assert len(first.receipt.refunds) == 1
    assert refusal(till.stub.CancelSettlement, pb.CancelSettlementRequest(
        request_id=f"cx-{uuid.uuid4()}", settlement_id="ST-NOPE")).reason == "SETTLEMENT_NOT_FOUND"


def test_a_settlement_of_yesterday_cannot_be_cancelled_or_reversed(stack, tmp_path):
    from pharmacy_till import start_world

    world = start_world(stack, tmp_path / "keys")
    till = world.pharmacy()
    person = world.insured()
    receipt = till.settle(world.qr(person), request_id="yesterday-1").receipt
    stack.move_clock(24 * 3600)
    assert refusal(till.stub.CancelSettlement, pb.CancelSettlementRequest(
        request_id=f"cx-{uuid.uuid4()}", settlement_id=receipt.settlement_id)).reason == \
        "SETTLEMENT_NOT_CANCELLABLE"
    assert refusal(reverse, till, "yesterday-1").reason == "SETTLEMENT_NOT_CANCELLABLE"
    # returned medicine can still be refunded the next day, and counts on that day
    later = refund(till, receipt.settlement_id, ALL, [1])
    assert later.receipt.refunds[0].business_date != receipt.business_date


def test_concurrent_retries_of_a_cancel_return_one_refund(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    receipt = till.settle(world.qr(person)).receipt
    request = pb.CancelSettlementRequest(request_id=f"cx-{uuid.uuid4()}",
                                         settlement_id=receipt.settlement_id)
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: till.stub.CancelSettlement(request, timeout=60),
                                range(10)))
    assert len({r.SerializeToString(deterministic=True) for r in replies}) == 1
    assert len(replies[0].receipt.refunds) == 1
    assert world.balance(person) == before
