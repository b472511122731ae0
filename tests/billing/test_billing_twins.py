"""Every mutating billing RPC, fired as 8 identical twins at once: one effect, one reply.

A HIS or an app that lost a reply retries while the first call may still be running.
Each twin (separate channel, released together, SQLite and PostgreSQL) must get the first
reply byte for byte — never ``BILL_ALREADY_PAID``, ``ALREADY_REFUNDED``,
``AGREEMENT_EXISTS`` or ``REQUEST_IN_PROGRESS`` because of its own twin — and the effect
(credit, bill, refund, card booking) happens once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from billing_world import fen, line, rid, slot

from medpay.billing.v1 import billing_pb2 as pb
from medpay.billing.v1 import billing_pb2_grpc
from medpay.common.v1 import insurance_pb2 as ins
from support.twins import fire, one_reply

pytestmark = pytest.mark.db

LINES = (line("A1", "250101001", "A", "300.00"), line("C1", "C-ITEM-1", "C", "45.50"))


@dataclass
class Case:
    method: str
    request: Any
    token: str


def register_hospital(world):
    code = f"H6101{uuid.uuid4().hex[:7].upper()}"
    request = pb.RegisterHospitalRequest(
        request_id=rid("hosp"), institution_code=code, name="医院",
        level=ins.INSTITUTION_LEVEL_TIER2, region_code="610100",
        credit_settings=pb.CreditSettings(credit_limit=fen(100_000), grace_days=10,
                                          blacklist_after_overdue_days=30))

    def check(reply) -> None:  # every twin hears the first call's "created"
        assert reply.created and reply.hospital.institution_code == code

    return Case("RegisterHospital", request, world.stack.operator_token), check


def register_his_client(world):
    hospital = world.hospital()
    request = pb.RegisterHisClientRequest(request_id=rid("his"), institution_code=hospital.code,
                                          client_label="second HIS")

    def check(reply) -> None:  # the one client's credential works
        billing_pb2_grpc.BillingServiceStub(world.stack.channel(
            "billing", token=reply.credential)).ListVisits(pb.ListVisitsRequest(), timeout=10)

    return Case("RegisterHisClient", request, world.stack.operator_token), check


def enroll(world):
    hospital = world.hospital()
    person = world.insured()
    request = pb.EnrollCreditCareRequest(
        request_id=rid("enrol"), institution_code=hospital.code,
        assertion=world.assertion(person), payer_reference="alipay-agreement-ok")

    def check(reply) -> None:
        assert world.agreement(person, hospital).agreement_id == reply.agreement.agreement_id

    return Case("EnrollCreditCare", request, person.device_credential), check


def enrolled(world, **kw):
    hospital = world.hospital(**kw)
    person = world.insured(balance_fen=50_000)
    world.enrol(person, hospital)
    return hospital, person


def book(world):
    hospital, person = enrolled(world)
    request = pb.BookAppointmentRequest(request_id=rid("book"), institution_code=hospital.code,
                                        department="IM01", slot_start=slot(3))

    def check(reply) -> None:
        assert reply.appointment.appointment_id

    return Case("BookAppointment", request, person.device_credential), check


def cancel_appointment(world):
    hospital, person = enrolled(world)
    booked = world.app(person).BookAppointment(pb.BookAppointmentRequest(
        request_id=rid("book"), institution_code=hospital.code, department="IM01",
        slot_start=slot(3)), timeout=10).appointment
    request = pb.CancelAppointmentRequest(request_id=rid("cxa"),
                                          appointment_id=booked.appointment_id)

    def check(reply) -> None:
        assert reply.appointment.appointment_id == booked.appointment_id

    return Case("CancelAppointment", request, person.device_credential), check


def open_visit(world):
    hospital, person = enrolled(world)
    request = pb.OpenVisitRequest(request_id=rid("open"), department="IM01",
                                  medical_type=ins.MEDICAL_TYPE_OUTPATIENT, card_id=person.card_id)

    def check(reply) -> None:
        listed = hospital.his.ListVisits(pb.ListVisitsRequest(), timeout=10).visits
        assert [v.visit_id for v in listed] == [reply.visit.visit_id]

    return Case("OpenVisit", request, hospital.credential), check


def post_charges(world):
    hospital, person = enrolled(world)
    visit = world.open_visit(hospital, person)
    request = pb.PostChargesRequest(request_id=rid("post"), visit_id=visit.visit_id,
                                    lines=list(LINES))

    def check(reply) -> None:  # every twin hears "accepted", the first call's answer
        assert list(reply.accepted_his_line_ids) == ["A1", "C1"]
        used = world.agreement(person, hospital).used.amount_fen
        assert used == reply.expected_self_pay.amount_fen > 0  # reserved once

    return Case("PostCharges", request, hospital.credential), check


def cancel_charge(world):
    hospital, person = enrolled(world)
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, *LINES)
    request = pb.CancelChargeRequest(request_id=rid("cxc"), visit_id=visit.visit_id,
                                     his_line_id="C1")

    def check(reply) -> None:
        assert world.agreement(person, hospital).used.amount_fen == \
            reply.expected_self_pay.amount_fen

    return Case("CancelCharge", request, hospital.credential), check


def charged_visit(world):
    hospital, person = enrolled(world)
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, *LINES)
    return hospital, person, visit


def close_visit(world):
    hospital, person, visit = charged_visit(world)
    before = world.account(person).balance.amount_fen
    request = pb.CloseVisitRequest(request_id=rid("close"), visit_id=visit.visit_id)

    def check(reply) -> None:
        assert reply.visit.status == pb.VISIT_STATUS_CLOSED and reply.bill.bill_id
        booked = reply.bill.split.account_pay.amount_fen
        assert world.account(person).balance.amount_fen == before - booked  # captured once

    return Case("CloseVisit", request, hospital.credential), check


def closed_visit(world):
    hospital, person, visit = charged_visit(world)
    closed = world.close(hospital, visit.visit_id)
    return hospital, person, closed


def pay_bill(world):
    hospital, person, closed = closed_visit(world)
    request = pb.PayBillRequest(request_id=rid("pay"), bill_id=closed.bill.bill_id)

    def check(reply) -> None:
        assert reply.bill.status == pb.BILL_STATUS_PAID and reply.bill.channel_transaction_id
        assert world.agreement(person, hospital).used.amount_fen == 0  # paid once

    return Case("PayBill", request, person.device_credential), check


def refund_visit(world):
    hospital, person, closed = closed_visit(world)
    before = world.account(person).balance.amount_fen
    request = pb.RefundVisitRequest(request_id=rid("refund"), visit_id=closed.visit.visit_id,
                                    his_line_ids=["A1"])

    def check(reply) -> None:
        back = reply.refunded.account_pay.amount_fen
        assert world.account(person).balance.amount_fen == before + back  # returned once
        assert reply.bill.status == pb.BILL_STATUS_PARTIALLY_REFUNDED

    return Case("RefundVisit", request, hospital.credential), check


CASES = {f.__name__: f for f in (register_hospital, register_his_client, enroll, book,
                                 cancel_appointment, open_visit, post_charges, cancel_charge,
                                 close_visit, pay_bill, refund_visit)}


@pytest.mark.parametrize("rpc", list(CASES))
def test_twins_of_every_billing_mutation_get_the_first_reply_and_take_effect_once(world, rpc):
    case, check = CASES[rpc](world)
    outcomes = fire(world.stack, "billing", billing_pb2_grpc.BillingServiceStub, case.method,
                    case.request, token=case.token)
    check(one_reply(outcomes, getattr(pb, f"{case.method}Response")))
