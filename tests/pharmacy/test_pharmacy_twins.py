"""Every mutating pharmacy RPC, fired as 8 identical twins at once: one effect, one reply.

A till that lost a reply retries while the first call may still be running. Each twin
(separate channel, released together, SQLite and PostgreSQL) must get the first reply
byte for byte — never ``ALREADY_REFUNDED`` or ``SETTLEMENT_NOT_CANCELLABLE`` for its own
twin's refund — and money moves once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from pharmacy_till import BASKET, Till

from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay.pharmacy.v1 import pharmacy_pb2_grpc
from support.catalogue import sample_items
from support.twins import fire, one_reply

pytestmark = pytest.mark.db

ALL = insurance_pb2.REFUND_KIND_ALL
SETTLE_REQUEST = "twin-settle"


@dataclass
class Case:
    method: str
    request: Any
    token: str


def new_code() -> str:
    return f"P{uuid.uuid4().hex[:11].upper()}"


def register_pharmacy(world, till: Till):
    code = new_code()
    request = pb.RegisterPharmacyRequest(
        request_id=f"reg-{code}", institution_code=code, name="大药房",
        level=insurance_pb2.INSTITUTION_LEVEL_COMMUNITY, outpatient_pooling=True,
        region_code="610100")

    def check(reply) -> None:  # every twin hears the first call's "created"
        assert reply.created and reply.pharmacy.institution_code == code

    return Case("RegisterPharmacy", request, world.stack.operator_token), check


def register_terminal(world, till: Till):
    request = pb.RegisterTerminalRequest(request_id=f"term-{uuid.uuid4()}",
                                         institution_code=till.code, terminal_label="till 2")

    def check(reply) -> None:  # the one terminal's credential works
        world.stub(reply.credential).ListSettlements(pb.ListSettlementsRequest(), timeout=30)

    return Case("RegisterTerminal", request, world.stack.operator_token), check


def import_catalogue(world, till: Till):
    renamed = sample_items()[:3]
    for item in renamed:
        item.name = f"{item.name} (new)"
    request = pb.ImportCatalogueRequest(request_id=f"cat-{uuid.uuid4()}",
                                        institution_code=till.code, items=renamed)

    def check(reply) -> None:  # every twin hears the first call's "3 updated"
        assert (reply.created_count, reply.updated_count) == (0, 3)
        listed = world.operator.ListCatalogue(pb.ListCatalogueRequest(
            institution_code=till.code, page_size=500), timeout=30)
        assert len(listed.items) == len(sample_items())
        assert sum(item.name.endswith("(new)") for item in listed.items) == 3

    return Case("ImportCatalogue", request, world.stack.operator_token), check


def presettle(world, till: Till):
    person = world.insured()
    before = world.balance(person)
    request = pb.PreSettleRequest(request_id=f"ps-{uuid.uuid4()}", lines=BASKET,
                                  use_personal_account=True, qr_payload=world.qr(person))

    def check(reply) -> None:  # one payment context, nothing held
        assert reply.payment_context_id and world.balance(person) == before
        assert world.held(person) == 0

    return Case("PreSettle", request, till.credential), check


def settle(world, till: Till):
    person = world.insured()
    before = world.balance(person)
    request = pb.SettleRequest(request_id=f"st-{uuid.uuid4()}", lines=BASKET,
                               use_personal_account=True, payer_reference="payer-ok",
                               qr_payload=world.qr(person))

    def check(reply) -> None:
        receipt = reply.receipt
        assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
        assert world.balance(person) == before - receipt.split.account_pay.amount_fen
        assert world.held(person) == 0
        listed = till.stub.ListSettlements(pb.ListSettlementsRequest(), timeout=30).settlements
        assert [s.settlement_id for s in listed] == [receipt.settlement_id]
        assert len(world.channel_transactions(receipt.settlement_id)) == 1  # charged once

    return Case("Settle", request, till.credential), check


def settled(world, till: Till):
    person = world.insured()
    before = world.balance(person)
    receipt = till.settle(world.qr(person), request_id=SETTLE_REQUEST).receipt
    return person, before, receipt


def undone_once(world, till: Till, person, before, receipt, status) -> None:
    assert status in (pb.SETTLEMENT_STATUS_CANCELLED, pb.SETTLEMENT_STATUS_REVERSED)
    assert world.balance(person) == before and world.held(person) == 0
    kinds = sorted(pb.ChannelTransactionKind.Name(t.kind)
                   for t in world.channel_transactions(receipt.settlement_id))
    assert kinds == ["CHANNEL_TRANSACTION_KIND_CHARGE", "CHANNEL_TRANSACTION_KIND_REFUND"]
    assert len(till.get(receipt.settlement_id).refunds) == 1


def cancel(world, till: Till):
    person, before, receipt = settled(world, till)
    request = pb.CancelSettlementRequest(request_id=f"cx-{uuid.uuid4()}",
                                         settlement_id=receipt.settlement_id, reason="twins")

    def check(reply) -> None:
        undone_once(world, till, person, before, receipt, reply.receipt.status)

    return Case("CancelSettlement", request, till.credential), check


def reverse(world, till: Till):
    person, before, receipt = settled(world, till)
    request = pb.ReverseByRequestIdRequest(request_id=f"rv-{uuid.uuid4()}",
                                           original_request_id=SETTLE_REQUEST)

    def check(reply) -> None:
        assert reply.outcome == pb.REVERSE_OUTCOME_REVERSED
        undone_once(world, till, person, before, receipt, reply.receipt.status)

    return Case("ReverseByRequestId", request, till.credential), check


def refund_lines(world, till: Till):
    person, before, receipt = settled(world, till)
    paid = before - world.balance(person)
    request = pb.RefundLinesRequest(request_id=f"rf-{uuid.uuid4()}",
                                    settlement_id=receipt.settlement_id, kind=ALL, line_nos=[1])

    def check(reply) -> None:
        back = reply.refunded.account_pay.amount_fen
        assert back > 0 and world.balance(person) == before - paid + back  # returned once
        assert [r.refund_id for r in reply.receipt.refunds] == [reply.refund_id]

    return Case("RefundLines", request, till.credential), check


CASES = {f.__name__: f for f in (register_pharmacy, register_terminal, import_catalogue,
                                 presettle, settle, cancel, reverse, refund_lines)}


@pytest.mark.parametrize("rpc", list(CASES))
def test_twins_of_every_pharmacy_mutation_get_the_first_reply_and_move_money_once(world, rpc):
    till = world.pharmacy()
    case, check = CASES[rpc](world, till)
    outcomes = fire(world.stack, "pharmacy", pharmacy_pb2_grpc.PharmacyServiceStub, case.method,
                    case.request, token=case.token)
    check(one_reply(outcomes, getattr(pb, f"{case.method}Response")))
