"""A till sees and touches only its own pharmacy; other callers cannot use till RPCs."""

from __future__ import annotations

import uuid

import grpc
import pytest
from pharmacy_till import BASKET, refusal

from medpay.common.v1 import insurance_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def two(world):
    """Pharmacy A with a completed settlement, and pharmacy B."""
    a, b = world.pharmacy(), world.pharmacy()
    person = world.insured()
    pre = a.presettle(world.qr(person))
    receipt = a.settle(context=pre.payment_context_id).receipt
    return a, b, receipt, pre.payment_context_id


def test_b_cannot_read_a_settlement_of_a(two):
    a, b, receipt, _ = two
    assert refusal(b.get, receipt.settlement_id).reason == "SETTLEMENT_NOT_FOUND"
    assert refusal(b.get, settle_request_id=receipt.request_id).reason == "SETTLEMENT_NOT_FOUND"
    assert refusal(b.stub.GetSettlement, pb.GetSettlementRequest(
        settlement_id=receipt.settlement_id, institution_code=a.code)).reason == "PERMISSION_DENIED"
    assert b.stub.ListSettlements(pb.ListSettlementsRequest(), timeout=30).settlements == []
    assert refusal(b.stub.ListSettlements, pb.ListSettlementsRequest(
        institution_code=a.code)).reason == "PERMISSION_DENIED"
    assert refusal(b.stub.ListCatalogue, pb.ListCatalogueRequest(
        institution_code=a.code)).reason == "PERMISSION_DENIED"


def test_b_cannot_cancel_refund_or_reverse_for_a(two):
    a, b, receipt, _ = two
    assert refusal(b.stub.CancelSettlement, pb.CancelSettlementRequest(
        request_id=f"x-{uuid.uuid4()}", settlement_id=receipt.settlement_id)).reason == \
        "SETTLEMENT_NOT_FOUND"
    assert refusal(b.stub.RefundLines, pb.RefundLinesRequest(
        request_id=f"x-{uuid.uuid4()}", settlement_id=receipt.settlement_id,
        kind=insurance_pb2.REFUND_KIND_ALL)).reason == "SETTLEMENT_NOT_FOUND"
    reply = b.stub.ReverseByRequestId(pb.ReverseByRequestIdRequest(
        request_id=f"x-{uuid.uuid4()}", original_request_id=receipt.request_id), timeout=30)
    assert reply.outcome == pb.REVERSE_OUTCOME_NOTHING_TO_REVERSE
    assert a.get(receipt.settlement_id).status == pb.SETTLEMENT_STATUS_COMPLETED


def test_b_cannot_pay_with_a_payment_context_of_a(two):
    _, b, _, context = two
    assert refusal(b.presettle, context=context).reason == "PAYMENT_CONTEXT_INVALID"
    assert refusal(b.settle, context=context).reason == "PAYMENT_CONTEXT_INVALID"


def test_b_cannot_reconcile_a(two):
    a, b, receipt, _ = two
    assert refusal(b.stub.Reconcile, pb.ReconcileRequest(
        institution_code=a.code, business_date=receipt.business_date,
        insurance_type=insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC)).reason == "PERMISSION_DENIED"
    own = b.stub.Reconcile(pb.ReconcileRequest(
        business_date=receipt.business_date,
        insurance_type=insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC), timeout=30)
    assert own.matched and own.service_totals.count == 0


def test_app_and_his_credentials_are_not_accepted(world, two):
    a, *_ = two
    for token in (world.stack.app_token, "his_H000000001.c2VjcmV0c2VjcmV0c2VjcmV0",
                  "dev_card1.c2VjcmV0c2VjcmV0c2VjcmV0", a.credential + "x"):
        r = refusal(world.stub(token).ListSettlements, pb.ListSettlementsRequest())
        assert (r.code, r.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
    r = refusal(world.stub().ListSettlements, pb.ListSettlementsRequest())
    assert r.code == grpc.StatusCode.UNAUTHENTICATED


def test_callers_of_the_wrong_kind_are_denied(world, two):
    a, *_ = two
    operator = world.operator
    assert refusal(operator.Settle, pb.SettleRequest(
        request_id="op-1", qr_payload="x", lines=BASKET)).reason == "PERMISSION_DENIED"
    assert refusal(a.stub.RegisterTerminal, pb.RegisterTerminalRequest(
        request_id="t-1", institution_code=a.code)).reason == "PERMISSION_DENIED"
    assert refusal(a.stub.ListChannelTransactions,
                   pb.ListChannelTransactionsRequest()).reason == "PERMISSION_DENIED"
    as_card = world.stub(identity="card")
    assert refusal(as_card.Settle, pb.SettleRequest(request_id="s", qr_payload="x")).reason == \
        "PERMISSION_DENIED"


def test_the_operator_reads_any_pharmacy_by_naming_it(world, two):
    a, _, receipt, _ = two
    got = world.operator.GetSettlement(pb.GetSettlementRequest(
        settlement_id=receipt.settlement_id, institution_code=a.code), timeout=30).receipt
    assert got == a.get(receipt.settlement_id)
    assert refusal(world.operator.GetSettlement, pb.GetSettlementRequest(
        settlement_id=receipt.settlement_id)).reason == "INVALID_ARGUMENT"
