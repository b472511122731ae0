"""The cash part through the sandbox channel: decline and timeout unwind; a lost reply is queried."""

from __future__ import annotations

import grpc
import pytest
from pharmacy_till import AMOXICILLIN, line, refusal

from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db


@pytest.mark.parametrize(("payer", "reason", "code", "channel_status"), [
    ("payer-decline", "CHANNEL_DECLINED", grpc.StatusCode.FAILED_PRECONDITION,
     pb.CHANNEL_TRANSACTION_STATUS_DECLINED),
    ("payer-timeout", "CHANNEL_TIMEOUT", grpc.StatusCode.ABORTED,
     pb.CHANNEL_TRANSACTION_STATUS_TIMED_OUT),
])
def test_a_refused_cash_charge_fails_the_settlement_and_voids_the_hold(
        world, payer, reason, code, channel_status):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    r = refusal(till.settle, world.qr(person), payer=payer)
    assert (r.code, r.reason) == (code, reason)
    receipt = till.get(r.metadata["settlementId"])
    assert receipt.status == pb.SETTLEMENT_STATUS_FAILED
    assert pb.SettlementStatus.Name(receipt.status) == "SETTLEMENT_STATUS_FAILED"
    assert receipt.failure_reason != 0 and not receipt.issuer_reference
    assert world.balance(person) == before and world.held(person) == 0
    (charge,) = world.channel_transactions(receipt.settlement_id)
    assert charge.status == channel_status


def test_a_lost_reply_is_queried_and_the_settlement_completes(world):
    till = world.pharmacy()
    person = world.insured()
    before = world.balance(person)
    receipt = till.settle(world.qr(person), payer="payer-lost-reply").receipt
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
    assert world.balance(person) == before - receipt.split.account_pay.amount_fen
    (charge,) = world.channel_transactions(receipt.settlement_id)
    assert charge.status == pb.CHANNEL_TRANSACTION_STATUS_SUCCEEDED and charge.channel_reference


def test_no_cash_part_means_no_channel_call(world):
    till = world.pharmacy()
    person = world.insured()
    receipt = till.settle(world.qr(person), lines=[line(1, AMOXICILLIN, "1")],
                          payer="payer-decline").receipt  # the account pays it all
    assert receipt.split.cash_pay.amount_fen == 0 and not receipt.channel_transaction_id
    assert world.channel_transactions(receipt.settlement_id) == []
