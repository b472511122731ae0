"""A failure after the money moved is answered OUTCOME_UNKNOWN, never INTERNAL, and ends well.

The test-only fault hook ``MEDPAY_PHARMACY_TEST_FAIL_AFTER=capture`` makes the first Settle
raise an unexpected error right after card captured, before pharmacy saved the outcome.
A till that does not retry on its own must hear the documented "outcome unknown" answer
(UNAVAILABLE, reason ``OUTCOME_UNKNOWN``, the settlement id in the metadata); then a retry
with the same request id, or GetSettlement once recovery has run, gives the final receipt,
and the money moved once.
"""

from __future__ import annotations

import time

import grpc
import pytest
from pharmacy_till import BASKET, refusal, start_world

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from medpay_kit.client import tls_credentials

pytestmark = pytest.mark.db

FAST = {"lease_s": "3", "peer_timeout_s": "2", "recovery_interval_s": "0.3"}


def no_retry_stub(stack, token: str) -> pharmacy_pb2_grpc.PharmacyServiceStub:
    """A till that reports what it was told instead of retrying UNAVAILABLE by itself."""
    channel = grpc.secure_channel(stack.services["pharmacy"].target,
                                  tls_credentials(stack.pki, "client", token),
                                  options=[("grpc.enable_retries", 0)])
    return pharmacy_pb2_grpc.PharmacyServiceStub(channel)


@pytest.mark.parametrize("then", ["retry", "recovery"])
def test_a_failure_after_capture_is_outcome_unknown_and_then_completes(stack, tmp_path, then):
    world = start_world(stack, tmp_path / "keys", test_fail_after="capture", **FAST)
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    stub = no_retry_stub(stack, till.credential)
    request = pb.SettleRequest(request_id=f"fault-{then}", lines=BASKET, use_personal_account=True,
                               payer_reference="payer-ok", qr_payload=world.qr(person))

    r = refusal(stub.Settle, request, timeout=30)
    assert (r.code, r.reason) == (grpc.StatusCode.UNAVAILABLE, "OUTCOME_UNKNOWN")
    assert r.metadata["settlementId"]
    assert '"test_fault_hook_fired"' in stack.services["pharmacy"].logs()

    if then == "retry":  # the same request id takes the settlement over and finishes it
        receipt = stub.Settle(request, timeout=30).receipt
    else:  # the recovery loop finishes it; the till asks
        deadline = time.monotonic() + 30
        receipt = till.get(settle_request_id=request.request_id)
        while receipt.status == pb.SETTLEMENT_STATUS_PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
            receipt = till.get(settle_request_id=request.request_id)
        assert stub.Settle(request, timeout=30).receipt == receipt  # and a retry agrees
    assert receipt.settlement_id == r.metadata["settlementId"]
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED and receipt.issuer_reference
    assert till.get(receipt.settlement_id) == receipt
    assert world.balance(person) == before - receipt.split.account_pay.amount_fen  # once
    assert world.held(person) == 0
    (charge,) = world.channel_transactions(receipt.settlement_id)
    assert charge.status == pb.CHANNEL_TRANSACTION_STATUS_SUCCEEDED
