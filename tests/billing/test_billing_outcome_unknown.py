"""A failure after card captured a visit is answered OUTCOME_UNKNOWN, never INTERNAL.

The test-only fault hook ``MEDPAY_BILLING_TEST_FAIL_AFTER=capture`` makes the first
CloseVisit raise an unexpected error right after card captured, before billing recorded
the bill. A HIS that does not retry on its own must hear UNAVAILABLE / ``OUTCOME_UNKNOWN``
naming the visit; the recovery loop then closes it, and a retry with the same request id
answers the closed visit and its bill, with the claim booked once.
"""

from __future__ import annotations

import grpc
import pytest
from billing_world import line, rid, start_world

from medpay.billing.v1 import billing_pb2 as pb
from medpay.billing.v1 import billing_pb2_grpc
from medpay_kit.client import error_info, tls_credentials

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def world(module_stack, tmp_path_factory):
    return start_world(module_stack, tmp_path_factory.mktemp("keys"), lease_s="4",
                       peer_timeout_s="3", recovery_interval_s="0.3", test_fail_after="capture")


def no_retry_his(stack, token: str) -> billing_pb2_grpc.BillingServiceStub:
    """A HIS that reports what it was told instead of retrying UNAVAILABLE by itself."""
    channel = grpc.secure_channel(stack.services["billing"].target,
                                  tls_credentials(stack.pki, "client", token),
                                  options=[("grpc.enable_retries", 0)])
    return billing_pb2_grpc.BillingServiceStub(channel)


def test_a_failure_after_capture_is_outcome_unknown_and_the_visit_still_closes(world):
    hospital = world.hospital()
    person = world.insured(balance_fen=50_000)
    world.enrol(person, hospital)
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, line("A1", "250101001", "A", "300.00"),
               line("C1", "C-ITEM-1", "C", "45.50"))
    before = world.account(person).balance.amount_fen
    his = no_retry_his(world.stack, hospital.credential)
    request = pb.CloseVisitRequest(request_id=rid("close"), visit_id=visit.visit_id)

    with pytest.raises(grpc.RpcError) as err:
        his.CloseVisit(request, timeout=30)
    info = error_info(err.value)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert info is not None and info.reason == "OUTCOME_UNKNOWN"
    assert info.metadata["visitId"] == visit.visit_id
    assert '"test_fault_hook_fired"' in world.stack.services["billing"].logs()

    closed = his.CloseVisit(request, timeout=60)  # waits for recovery to finish it
    assert closed.visit.status == pb.VISIT_STATUS_CLOSED and closed.bill.bill_id
    assert '"visit_close_recovered"' in world.stack.services["billing"].logs()
    assert his.CloseVisit(request, timeout=30) == closed  # the same reply from now on
    booked = closed.bill.split.account_pay.amount_fen
    assert world.account(person).balance.amount_fen == before - booked  # captured once
    assert world.bill(hospital.his, closed.bill.bill_id) == closed.bill
