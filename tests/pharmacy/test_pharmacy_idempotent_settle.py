"""A retried Settle never pays twice: one settlement, one debit, identical receipts."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pharmacy_till import AMOXICILLIN, BASKET, CEFACLOR, line, refusal

from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db


def test_a_sequential_retry_returns_the_first_receipt(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    qr = world.qr(person)
    first = till.settle(qr, request_id="retry-seq-1")
    again = till.settle(qr, request_id="retry-seq-1")
    assert first == again
    assert world.balance(person) == before - first.receipt.split.account_pay.amount_fen
    assert len(world.channel_transactions(first.receipt.settlement_id)) == 1


def test_twenty_concurrent_retries_make_one_settlement(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    pre = till.presettle(world.qr(person))
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(
            lambda _: till.settle(context=pre.payment_context_id, request_id="burst-1"), range(20)))
    elapsed = time.monotonic() - started
    assert len({r.SerializeToString(deterministic=True) for r in replies}) == 1
    receipt = replies[0].receipt
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
    assert world.balance(person) == before - receipt.split.account_pay.amount_fen
    listed = till.stub.ListSettlements(pb.ListSettlementsRequest(), timeout=30).settlements
    assert [r.settlement_id for r in listed] == [receipt.settlement_id]
    assert len(world.channel_transactions(receipt.settlement_id)) == 1
    print(f"\n20 concurrent Settle retries: 1 settlement, identical receipts, {elapsed:.2f}s")


def test_the_same_request_id_with_another_basket_is_refused(world):
    till = world.pharmacy()
    person = world.insured()
    qr = world.qr(person)
    till.settle(qr, request_id="mismatch-1")
    other = [line(1, AMOXICILLIN, "3"), line(2, CEFACLOR, "1")]
    r = refusal(till.settle, qr, request_id="mismatch-1", lines=other)
    assert r.reason == "IDEMPOTENCY_MISMATCH"


def test_a_pre_settlement_retry_exchanges_the_qr_code_once(world):
    till = world.pharmacy()
    person = world.insured()
    request = pb.PreSettleRequest(request_id=f"ps-{uuid.uuid4()}", qr_payload=world.qr(person),
                                  lines=BASKET, use_personal_account=True)
    assert till.stub.PreSettle(request, timeout=60) == till.stub.PreSettle(request, timeout=60)


def test_a_failed_settle_retried_gives_the_same_error(world):
    till = world.pharmacy()
    person = world.insured()
    qr = world.qr(person)
    first = refusal(till.settle, qr, request_id="fail-twice", payer="card-decline")
    second = refusal(till.settle, qr, request_id="fail-twice", payer="card-decline")
    assert first.reason == second.reason == "CHANNEL_DECLINED"
    assert first.metadata == second.metadata and first.metadata["settlementId"]
