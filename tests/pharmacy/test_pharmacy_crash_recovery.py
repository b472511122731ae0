"""A pharmacy killed in the middle of a Settle: the recovery loop ends it, and agrees with the issuer.

The test-only fault hook ``MEDPAY_PHARMACY_TEST_CRASH_AFTER`` makes the process exit right
after a step has been persisted; the restarted process finds the PENDING settlement and
finishes or unwinds it.
"""

from __future__ import annotations

import time

import grpc
import pytest
from pharmacy_till import refusal, start_world

from medpay.common.v1 import errors_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db

FAST = {"lease_s": "3", "peer_timeout_s": "2", "recovery_interval_s": "0.3"}


def crash_then_recover(stack, tmp_path, step: str):
    world = start_world(stack, tmp_path / "keys", test_crash_after=step, **FAST)
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    qr = world.qr(person)
    with pytest.raises(grpc.RpcError) as err:
        till.settle(qr, request_id=f"crash-{step}", timeout=20)
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    pharmacy = stack.services["pharmacy"]
    assert pharmacy.proc.wait(10) == 137
    assert '"test_crash_hook_fired"' in pharmacy.logs()
    pharmacy.env.pop("MEDPAY_PHARMACY_TEST_CRASH_AFTER")
    pharmacy.start()
    till.stub = world.stub(till.credential)  # a fresh channel: the old one saw the crash
    deadline = time.monotonic() + 30
    receipt = till.get(settle_request_id=f"crash-{step}")
    while (receipt.status == pb.SETTLEMENT_STATUS_PENDING
           or '"settlement_recovered"' not in pharmacy.logs()) and time.monotonic() < deadline:
        time.sleep(0.2)
        receipt = till.get(settle_request_id=f"crash-{step}")
    assert '"settlement_recovered"' in pharmacy.logs()  # by the loop, not by a till's retry
    return world, (till, qr), person, before, receipt


def test_killed_after_authorize_the_hold_is_voided(stack, tmp_path):
    world, (till, qr), person, before, receipt = crash_then_recover(stack, tmp_path, "authorize")
    assert receipt.status == pb.SETTLEMENT_STATUS_FAILED
    assert world.balance(person) == before and world.held(person) == 0
    assert world.channel_transactions(receipt.settlement_id) == []  # never charged
    # the stored end says "nothing happened" to every retry: never INTERNAL
    assert receipt.failure_reason == errors_pb2.ERROR_REASON_SETTLEMENT_FAILED
    r = refusal(till.settle, qr, request_id="crash-authorize")
    assert (r.code, r.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SETTLEMENT_FAILED")
    assert r.metadata["settlementId"] == receipt.settlement_id


def test_killed_after_the_cash_charge_the_settlement_is_captured(stack, tmp_path):
    world, (till, qr), person, before, receipt = crash_then_recover(stack, tmp_path, "charge")
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED and receipt.issuer_reference
    assert world.balance(person) == before - receipt.split.account_pay.amount_fen
    assert world.held(person) == 0
    (charge,) = world.channel_transactions(receipt.settlement_id)
    assert charge.status == pb.CHANNEL_TRANSACTION_STATUS_SUCCEEDED
    assert charge.amount.amount_fen == receipt.split.cash_pay.amount_fen
    # the till retrying the same request now gets the recovered receipt
    again = till.settle(qr, request_id="crash-charge")
    assert again.receipt == receipt
