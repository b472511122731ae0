"""Bad input gets a precise refusal and books nothing.

Unknown and closed visits, a HIS line id re-sent with a different amount, negative amounts,
absurd quantities and prices, malformed requests, reused request ids and assertions: each
is refused with its own reason, and the visit, the agreement's credit and card's account
are exactly as before.
"""

from __future__ import annotations

import grpc
import pytest
from billing_world import fen, line, rid, slot

from medpay.billing.v1 import billing_pb2 as pb
from medpay_kit.client import error_info, error_reason

pytestmark = pytest.mark.db


def refusal(call) -> tuple[str | None, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    info = error_info(err.value)
    return error_reason(err.value), dict(info.metadata) if info else {}


@pytest.fixture(scope="module")
def setting(world):
    hospital = world.hospital()
    person = world.insured()
    world.enrol(person, hospital)
    visit = world.open_visit(hospital, person)
    first = world.post(hospital, visit.visit_id, line("L1", "250101001", "A", "12.50", "2"),
                       line("L2", "C-ITEM", "C", "30"))
    return world, hospital, person, visit, first


def state(world, hospital, person, visit_id):
    visit = next(v for v in hospital.his.ListVisits(pb.ListVisitsRequest(), timeout=10).visits
                 if v.visit_id == visit_id)
    return visit.charged_total.amount_fen, world.agreement(person, hospital).used.amount_fen


BAD_LINES = [
    ("negative price", line("N1", "250101001", "A", "-1.00"), "INVALID_ARGUMENT", "lines[0].unit_price"),
    ("price with 7 decimals", line("N1", "250101001", "A", "1.0000001"), "INVALID_ARGUMENT",
     "lines[0].unit_price"),
    ("absurd price", line("N1", "250101001", "A", "99999999"), "INVALID_ARGUMENT", "lines[0].unit_price"),
    ("price with exponent", line("N1", "250101001", "A", "1e3"), "INVALID_ARGUMENT", "lines[0].unit_price"),
    ("negative quantity", line("N1", "250101001", "A", "1.00", "-2"), "QUANTITY_INVALID",
     "lines[0].quantity"),
    ("zero quantity", line("N1", "250101001", "A", "1.00", "0"), "QUANTITY_INVALID", "lines[0].quantity"),
    ("absurd quantity", line("N1", "250101001", "A", "1.00", "100000"), "QUANTITY_INVALID",
     "lines[0].quantity"),
    ("quantity with 5 decimals", line("N1", "250101001", "A", "1.00", "1.00001"), "QUANTITY_INVALID",
     "lines[0].quantity"),
    ("amount rounds to 0 fen", line("N1", "250101001", "A", "0.004", "1"), "QUANTITY_INVALID",
     "lines[0].quantity"),
    ("tiny quantity", line("N1", "250101001", "A", "1.00", "0.0001"), "QUANTITY_INVALID",
     "lines[0].quantity"),
    ("zero price", line("N1", "250101001", "A", "0", "3"), "QUANTITY_INVALID", "lines[0].quantity"),
    ("no line id", line("", "250101001", "A", "1.00"), "INVALID_ARGUMENT", "lines[0].his_line_id"),
    ("no item code", line("N1", "", "A", "1.00"), "INVALID_ARGUMENT", "lines[0].item_code"),
    ("class unset", pb.ChargeLine(his_line_id="N1", item_code="X", unit_price="1", quantity="1"),
     "INVALID_ARGUMENT", "lines[0].item_class"),
    ("ratio above 100 %", line("N1", "250101001", "B", "1.00", ratio_bp=10_001), "INVALID_ARGUMENT",
     "lines[0].pre_self_pay_ratio_bp"),
    ("negative cap", pb.ChargeLine(his_line_id="N1", item_code="X", item_class=1, unit_price="1",
                                   quantity="1", price_cap="-5"), "INVALID_ARGUMENT", "lines[0].price_cap"),
]


@pytest.mark.parametrize(("what", "bad", "reason", "field"), BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_a_bad_line_is_refused_and_nothing_is_booked(setting, what, bad, reason, field):
    world, hospital, person, visit, _ = setting
    before = state(world, hospital, person, visit.visit_id)
    good = line("OK1", "250101001", "A", "5.00")
    got, meta = refusal(lambda: world.post(hospital, visit.visit_id, good, bad))
    assert got == reason and meta.get("field") == field.replace("[0]", "[1]"), what
    assert state(world, hospital, person, visit.visit_id) == before


def test_a_line_resent_with_another_amount_is_a_conflict(setting):
    world, hospital, person, visit, first = setting
    before = state(world, hospital, person, visit.visit_id)
    got, meta = refusal(lambda: world.post(hospital, visit.visit_id, line("NEW", "250101001", "A", "1"),
                                           line("L1", "250101001", "A", "12.50", "3")))
    assert got == "CHARGE_CONFLICT" and meta["hisLineId"] == "L1"
    got, _ = refusal(lambda: world.post(hospital, visit.visit_id, line("D1", "250101001", "A", "1"),
                                        line("D1", "250101001", "A", "2")))
    assert got == "CHARGE_CONFLICT"
    assert state(world, hospital, person, visit.visit_id) == before
    # the same content again is a harmless duplicate
    again = world.post(hospital, visit.visit_id, line("L1", "250101001", "A", "12.5", "2.0"))
    assert list(again.duplicate_his_line_ids) == ["L1"] and not again.accepted_his_line_ids
    assert again.expected_self_pay == first.expected_self_pay


def test_empty_and_oversized_batches(setting):
    world, hospital, _, visit, _ = setting
    assert refusal(lambda: world.post(hospital, visit.visit_id))[0] == "BASKET_EMPTY"
    many = [line(f"M{i}", "250101001", "A", "1") for i in range(101)]
    assert refusal(lambda: world.post(hospital, visit.visit_id, *many))[0] == "TOO_MANY_LINES"


def test_unknown_and_closed_visits(setting):
    world, hospital, person, visit, _ = setting
    his = hospital.his
    assert refusal(lambda: world.post(hospital, "MD_NO_SUCH", line("X", "1", "A", "1")))[0] \
        == "VISIT_NOT_FOUND"
    assert refusal(lambda: world.close(hospital, "MD_NO_SUCH"))[0] == "VISIT_NOT_FOUND"
    assert refusal(lambda: his.CancelCharge(pb.CancelChargeRequest(
        request_id=rid(), visit_id=visit.visit_id, his_line_id="NOPE"), timeout=10))[0] \
        == "CHARGE_NOT_FOUND"
    assert refusal(lambda: his.RefundVisit(pb.RefundVisitRequest(
        request_id=rid(), visit_id=visit.visit_id), timeout=10))[0] == "VISIT_NOT_CLOSED"

    other = world.open_visit(hospital, person)
    world.post(hospital, other.visit_id, line("Z1", "250101001", "A", "8.00"))
    closed = world.close(hospital, other.visit_id)
    used = world.agreement(person, hospital).used.amount_fen
    assert refusal(lambda: world.post(hospital, other.visit_id, line("Z2", "1", "A", "1")))[0] \
        == "VISIT_CLOSED"
    assert refusal(lambda: his.CancelCharge(pb.CancelChargeRequest(
        request_id=rid(), visit_id=other.visit_id, his_line_id="Z1"), timeout=10))[0] == "VISIT_CLOSED"
    assert refusal(lambda: his.RefundVisit(pb.RefundVisitRequest(
        request_id=rid(), visit_id=other.visit_id, his_line_ids=["NOPE"]), timeout=10))[0] \
        == "CHARGE_NOT_FOUND"
    assert world.close(hospital, other.visit_id).bill == closed.bill  # closing again answers the same
    assert world.agreement(person, hospital).used.amount_fen == used


def test_request_ids_are_bound_to_their_request(setting):
    world, hospital, _, visit, _ = setting
    request_id = rid("same")
    world.post(hospital, visit.visit_id, line("R1", "250101001", "A", "1.00"), request_id=request_id)
    replay = world.post(hospital, visit.visit_id, line("R1", "250101001", "A", "1.00"), request_id=request_id)
    assert list(replay.accepted_his_line_ids) == ["R1"]  # the first answer, replayed
    got, _ = refusal(lambda: world.post(hospital, visit.visit_id, line("R2", "250101001", "A", "1.00"),
                                        request_id=request_id))
    assert got == "IDEMPOTENCY_MISMATCH"
    assert refusal(lambda: hospital.his.PostCharges(pb.PostChargesRequest(
        visit_id=visit.visit_id, lines=[line("R3", "1", "A", "1")]), timeout=10))[0] == "INVALID_ARGUMENT"


def test_registrations_and_enrolment_refusals(setting):
    world, hospital, person, _, _ = setting
    ops = world.ops

    def register(**kw):
        values = dict(request_id=rid(), institution_code="H61010099999", name="X", level=3,
                      region_code="610100", credit_settings=pb.CreditSettings(
                          credit_limit=fen(1000), grace_days=10, blacklist_after_overdue_days=30))
        values.update(kw)
        return ops.RegisterHospital(pb.RegisterHospitalRequest(**values), timeout=10)

    assert refusal(lambda: register(institution_code="short"))[1]["field"] == "institution_code"
    assert refusal(lambda: register(level=0))[1]["field"] == "level"
    assert refusal(lambda: register(credit_settings=pb.CreditSettings(
        credit_limit=fen(-1), grace_days=1, blacklist_after_overdue_days=1)))[1]["field"] \
        == "credit_settings.credit_limit"
    assert refusal(lambda: register(credit_settings=pb.CreditSettings(
        credit_limit=fen(1), grace_days=-1, blacklist_after_overdue_days=1)))[1]["field"] \
        == "credit_settings.grace_days"
    assert refusal(lambda: ops.RegisterHisClient(pb.RegisterHisClientRequest(
        request_id=rid(), institution_code="H61010099998"), timeout=10))[0] == "HOSPITAL_NOT_FOUND"

    app = world.app(person)
    assert refusal(lambda: world.enrol(person, hospital))[0] == "AGREEMENT_EXISTS"
    other = world.hospital()

    def enrol(assertion, code=other.code):
        return app.EnrollCreditCare(pb.EnrollCreditCareRequest(
            request_id=rid(), institution_code=code, assertion=assertion), timeout=20)

    assert refusal(lambda: enrol(world.assertion(person), "H61010099997"))[0] == "HOSPITAL_NOT_FOUND"
    from support.faces import counter_assertion
    wrong_purpose = counter_assertion(world.stack, person.identity_person_id, purpose="STEP_UP_PAYMENT",
                                      audience="billing", device_id=person.device_id)
    assert refusal(lambda: enrol(wrong_purpose))[0] == "ASSERTION_WRONG_PURPOSE"
    for_card = counter_assertion(world.stack, person.identity_person_id, purpose="CREDIT_AGREEMENT",
                                 audience="card", device_id=person.device_id)
    assert refusal(lambda: enrol(for_card))[0] == "ASSERTION_WRONG_AUDIENCE"
    other_device = counter_assertion(world.stack, person.identity_person_id, purpose="CREDIT_AGREEMENT",
                                     audience="billing", device_id="someone-elses-phone")
    assert refusal(lambda: enrol(other_device))[0] == "ASSERTION_WRONG_DEVICE"
    stranger = world.insured()
    not_the_holder = counter_assertion(world.stack, stranger.identity_person_id,
                                       purpose="CREDIT_AGREEMENT", audience="billing",
                                       device_id=person.device_id)
    assert refusal(lambda: enrol(not_the_holder))[0] == "PERMISSION_DENIED"
    # refused before it is used up: the same answer again, not ASSERTION_USED
    assert refusal(lambda: enrol(not_the_holder))[0] == "PERMISSION_DENIED"
    assert refusal(lambda: enrol("not-a-token"))[0] == "ASSERTION_INVALID"
    good = world.assertion(person)
    assert enrol(good).agreement.status == pb.AGREEMENT_STATUS_ACTIVE
    third = world.hospital()
    assert refusal(lambda: enrol(good, third.code))[0] == "ASSERTION_USED"


def test_appointment_and_listing_refusals(setting):
    world, hospital, person, _, _ = setting
    app = world.app(person)
    assert refusal(lambda: app.BookAppointment(pb.BookAppointmentRequest(
        request_id=rid(), institution_code=hospital.code, department="IM01", slot_start=slot(-1)),
        timeout=10))[0] == "SLOT_UNAVAILABLE"
    booked = app.BookAppointment(pb.BookAppointmentRequest(
        request_id=rid(), institution_code=hospital.code, department="IM01", slot_start=slot(3)),
        timeout=10).appointment
    app.CancelAppointment(pb.CancelAppointmentRequest(request_id=rid(), appointment_id=booked.appointment_id),
                          timeout=10)
    assert refusal(lambda: app.CancelAppointment(pb.CancelAppointmentRequest(
        request_id=rid(), appointment_id=booked.appointment_id), timeout=10))[0] \
        == "APPOINTMENT_NOT_CANCELLABLE"
    assert refusal(lambda: world.open_visit(hospital, person, appointment_id=booked.appointment_id))[0] \
        == "APPOINTMENT_NOT_CANCELLABLE"
    his = hospital.his
    assert refusal(lambda: his.ListVisits(pb.ListVisitsRequest(page_token="@@"), timeout=10))[0] \
        == "INVALID_ARGUMENT"
    assert refusal(lambda: his.ListVisits(pb.ListVisitsRequest(opened_date="2026-13-01"), timeout=10))[0] \
        == "INVALID_ARGUMENT"
    assert refusal(lambda: his.ListVisits(pb.ListVisitsRequest(status=42), timeout=10))[0] \
        == "INVALID_ARGUMENT"
    assert refusal(lambda: world.pay(person, "BL_NO_SUCH"))[0] == "BILL_NOT_FOUND"
