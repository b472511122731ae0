"""Every caller sees only its own: a HIS its hospital, an app its card.

The HIS of hospital A cannot read, post to, close, refund or watch hospital B's visits
(they look like visits that do not exist), and cannot act for B; an app sees only its own
card's agreements, appointments and bills; each RPC is open only to its kind of caller.
"""

from __future__ import annotations

import time

import grpc
import pytest
from billing_world import EventWatcher, billing_stub, line, rid, slot

from medpay.billing.v1 import billing_pb2 as pb
from medpay_kit.client import error_reason

pytestmark = pytest.mark.db


def reason_of(call) -> str | None:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return error_reason(err.value)


@pytest.fixture(scope="module")
def two(world):
    a, b = world.hospital(), world.hospital()
    alice, bob = world.insured(), world.insured()
    for person in (alice, bob):
        world.enrol(person, b)
    world.enrol(alice, a)
    watch_a = EventWatcher(a)
    visit_b = world.open_visit(b, alice)
    world.post(b, visit_b.visit_id, line("B1", "250101001", "A", "50.00"))
    closed_b = world.close(b, visit_b.visit_id)
    open_b = world.open_visit(b, bob)
    return world, a, b, alice, bob, closed_b, open_b, watch_a


def test_a_his_cannot_touch_another_hospitals_visits(two):
    world, a, b, _, _, closed_b, open_b, watch_a = two
    his = a.his
    vid = open_b.visit_id
    assert reason_of(lambda: world.post(a, vid, line("X1", "250101001", "A", "1.00"))) == "VISIT_NOT_FOUND"
    assert reason_of(lambda: his.CancelCharge(pb.CancelChargeRequest(
        request_id=rid(), visit_id=vid, his_line_id="B1"), timeout=10)) == "VISIT_NOT_FOUND"
    assert reason_of(lambda: world.close(a, vid)) == "VISIT_NOT_FOUND"
    assert reason_of(lambda: his.RefundVisit(pb.RefundVisitRequest(
        request_id=rid(), visit_id=closed_b.visit.visit_id), timeout=10)) == "VISIT_NOT_FOUND"
    assert reason_of(lambda: world.bill(his, closed_b.bill.bill_id)) == "BILL_NOT_FOUND"
    listed = his.ListVisits(pb.ListVisitsRequest(), timeout=10).visits
    assert {v.institution_code for v in listed} <= {a.code}
    assert closed_b.visit.visit_id not in {v.visit_id for v in listed}
    # B's visit is untouched and still open
    assert world.post(b, vid, line("B9", "250101001", "A", "2.00")).accepted_his_line_ids == ["B9"]
    # A's stream never carries B's events
    time.sleep(0.5)
    assert watch_a.events == [] and watch_a.error is None
    watch_a.stop()


def test_a_his_cannot_open_visits_for_people_without_an_agreement_there(two):
    world, a, _, _, bob, _, _, _ = two
    assert reason_of(lambda: world.open_visit(a, bob)) == "AGREEMENT_NOT_FOUND"


def test_an_app_sees_only_its_own_card(two):
    world, _, b, alice, bob, closed_b, _, _ = two
    bill_id = closed_b.bill.bill_id
    assert world.bill(world.app(alice), bill_id).bill_id == bill_id
    assert reason_of(lambda: world.bill(world.app(bob), bill_id)) == "BILL_NOT_FOUND"
    assert reason_of(lambda: world.pay(bob, bill_id)) == "BILL_NOT_FOUND"
    assert world.app(bob).ListBills(pb.ListBillsRequest(), timeout=10).bills == []
    alice_agreement = world.agreement(alice, b).agreement_id
    assert reason_of(lambda: world.app(bob).GetCreditAgreement(pb.GetCreditAgreementRequest(
        agreement_id=alice_agreement), timeout=10)) == "AGREEMENT_NOT_FOUND"
    booked = world.app(alice).BookAppointment(pb.BookAppointmentRequest(
        request_id=rid(), institution_code=b.code, department="IM01", slot_start=slot(2)),
        timeout=10).appointment
    assert reason_of(lambda: world.app(bob).CancelAppointment(pb.CancelAppointmentRequest(
        request_id=rid(), appointment_id=booked.appointment_id), timeout=10)) == "APPOINTMENT_NOT_FOUND"


def test_each_rpc_is_open_only_to_its_callers(two):
    world, a, _, alice, _, closed_b, _, _ = two
    app = world.app(alice)
    assert reason_of(lambda: app.OpenVisit(pb.OpenVisitRequest(
        request_id=rid(), card_id=alice.card_id, department="IM01"), timeout=10)) == "PERMISSION_DENIED"
    assert reason_of(lambda: app.ListVisits(pb.ListVisitsRequest(), timeout=10)) == "PERMISSION_DENIED"
    assert reason_of(lambda: a.his.PayBill(pb.PayBillRequest(
        request_id=rid(), bill_id=closed_b.bill.bill_id), timeout=10)) == "PERMISSION_DENIED"
    assert reason_of(lambda: a.his.RegisterHospital(pb.RegisterHospitalRequest(
        request_id=rid()), timeout=10)) == "PERMISSION_DENIED"
    assert reason_of(lambda: world.ops.OpenVisit(pb.OpenVisitRequest(
        request_id=rid(), card_id=alice.card_id, department="IM01"), timeout=10)) == "PERMISSION_DENIED"
    as_pharmacy = billing_stub(world.stack, identity="pharmacy")
    assert reason_of(lambda: as_pharmacy.GetBill(pb.GetBillRequest(
        bill_id=closed_b.bill.bill_id), timeout=10)) == "PERMISSION_DENIED"


def test_unknown_or_forged_credentials_are_refused(two):
    world, a, _, alice, _, _, _, _ = two
    client_id = a.credential.split(".")[0]
    for token in (f"{client_id}.not-the-secret", "his_HISUNKNOWN.secret",
                  f"dev_{alice.device_id}.forged", "xyz_abc.def", "garbage"):
        stub = billing_stub(world.stack, token)
        assert reason_of(lambda stub=stub: stub.ListVisits(pb.ListVisitsRequest(), timeout=10)) \
            == "UNAUTHENTICATED", token
    # the app's static test key of other services means nothing to billing
    stub = billing_stub(world.stack, world.stack.app_token)
    assert reason_of(lambda: stub.ListBills(pb.ListBillsRequest(), timeout=10)) == "UNAUTHENTICATED"


def test_a_revoked_card_stops_working_within_the_cache_window(world):
    from medpay.card.v1 import card_pb2
    from support.insured import card_stub

    hospital = world.hospital()
    person = world.insured()
    world.enrol(person, hospital)
    app = world.app(person)
    assert app.ListBills(pb.ListBillsRequest(), timeout=10).bills == []
    card_stub(world.stack, token=world.stack.operator_token).RevokeCard(card_pb2.RevokeCardRequest(
        request_id=rid(), card_id=person.card_id, reason="phone lost"), timeout=10)
    time.sleep(1.3)  # device_cache_ttl_s is 1 s in these tests (at most 30 s in production)
    assert reason_of(lambda: app.ListBills(pb.ListBillsRequest(), timeout=10)) == "UNAUTHENTICATED"


def test_the_his_credential_is_replayed_but_kept_only_hashed_and_sealed(world):
    import sqlite3

    hospital = world.hospital()
    request = pb.RegisterHisClientRequest(request_id=rid("his"), institution_code=hospital.code)
    first = world.ops.RegisterHisClient(request, timeout=10)
    assert world.ops.RegisterHisClient(request, timeout=10) == first  # an idempotent replay
    assert first.credential.startswith(f"his_{first.client_id}.")
    if world.stack.backend == "sqlite":
        secret = first.credential.split(".", 1)[1].encode()
        with sqlite3.connect(world.stack.workdir / "billing.db") as db:
            stored = [r[0] for r in db.execute("SELECT response FROM idempotency_keys")]
            stored += [r[0].encode() for r in db.execute("SELECT secret_hash FROM his_clients")]
        assert stored and not any(secret in blob for blob in stored)
