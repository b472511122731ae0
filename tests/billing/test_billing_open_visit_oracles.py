"""OpenVisit tells a HIS nothing about cards it has no business with, and a QR code is used
up only by a visit that opens: a refusal that has nothing to do with the code leaves it
usable. Real identity, card and billing processes."""

from __future__ import annotations

import uuid

import grpc
import pytest
from billing_world import rid

from medpay.billing.v1 import billing_pb2 as pb
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2 as ins
from medpay_kit.client import error_info
from support.insured import card_stub, qr_code

pytestmark = pytest.mark.db


def answer(call) -> tuple:
    """Everything a refused caller sees: status, details, reason and metadata."""
    with pytest.raises(grpc.RpcError) as err:
        call()
    info = error_info(err.value)
    assert info is not None
    return err.value.code(), err.value.details(), info.reason, tuple(sorted(info.metadata.items()))


def open_by(hospital, **source):
    fields = {"department": "IM01", "medical_type": ins.MEDICAL_TYPE_OUTPATIENT} | source
    return lambda: hospital.his.OpenVisit(pb.OpenVisitRequest(request_id=rid("open"), **fields),
                                          timeout=20)


def test_a_card_without_an_agreement_here_is_refused_like_a_card_that_does_not_exist(world):
    here, elsewhere = world.hospital(), world.hospital()
    no_agreement = world.insured()
    agreement_elsewhere = world.insured()
    world.enrol(agreement_elsewhere, elsewhere)
    revoked = world.insured()
    card_stub(world.stack, token=world.stack.operator_token).RevokeCard(card_pb2.RevokeCardRequest(
        request_id=rid(), card_id=revoked.card_id, reason="test"), timeout=10)
    cards = [no_agreement.card_id, agreement_elsewhere.card_id, revoked.card_id,
             f"card_{uuid.uuid4().hex}", "card_x"]
    answers = {answer(open_by(here, card_id=card)) for card in cards}
    assert len(answers) == 1, answers
    assert next(iter(answers))[2] == "AGREEMENT_NOT_FOUND"


def test_a_refusal_that_is_not_about_the_qr_code_leaves_it_usable(world):
    hospital = world.hospital()
    person = world.insured()
    qr = qr_code(world.stack, person)
    assert answer(open_by(hospital, qr_payload=qr))[2] == "AGREEMENT_NOT_FOUND"
    assert answer(open_by(hospital, qr_payload=qr, department="x" * 65))[2] == \
        "INVALID_ARGUMENT"
    assert answer(open_by(hospital, qr_payload=qr, medical_type=ins.MEDICAL_TYPE_PHARMACY))[2] == \
        "INVALID_ARGUMENT"
    world.enrol(person, hospital)
    visit = open_by(hospital, qr_payload=qr)().visit
    assert visit.card_id == person.card_id and visit.status == pb.VISIT_STATUS_OPEN
    assert answer(open_by(hospital, qr_payload=qr))[2] == "QR_ALREADY_USED"  # now it is used


def test_a_retried_open_by_qr_code_replays_the_visit(world):
    hospital = world.hospital()
    person = world.insured()
    world.enrol(person, hospital)
    request = pb.OpenVisitRequest(request_id=rid("open-qr"), qr_payload=qr_code(world.stack, person),
                                  department="IM01")
    first = hospital.his.OpenVisit(request, timeout=20).visit
    assert hospital.his.OpenVisit(request, timeout=20).visit == first
