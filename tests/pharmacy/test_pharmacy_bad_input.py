"""Bad input is refused with a precise reason, and nothing is booked."""

from __future__ import annotations

import uuid

import grpc
import pytest
from pharmacy_till import AMOXICILLIN, BASKET, line, refusal

from medpay.pharmacy.v1 import pharmacy_pb2 as pb

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def till(world):
    return world.pharmacy()


@pytest.fixture(scope="module")
def qr(world):
    return world.qr(world.insured())


@pytest.mark.parametrize(("lines", "reason", "line_no"), [
    ([], "BASKET_EMPTY", None),
    ([line(1, AMOXICILLIN, "0")], "QUANTITY_INVALID", "1"),
    ([line(1, AMOXICILLIN, "1"), line(2, AMOXICILLIN, "-2")], "QUANTITY_INVALID", "2"),
    ([line(1, AMOXICILLIN, "99999999")], "QUANTITY_INVALID", "1"),
    ([line(1, AMOXICILLIN, "1.00001")], "QUANTITY_INVALID", "1"),
    ([line(1, AMOXICILLIN, "1e2")], "QUANTITY_INVALID", "1"),
    ([line(1, AMOXICILLIN, "1"), line(2, AMOXICILLIN, "0.0003")], "QUANTITY_INVALID", "2"),
    ([line(1, AMOXICILLIN, "1", "0.004")], "QUANTITY_INVALID", "1"),  # 0.4 fen rounds to 0
    ([line(1, "NOT-A-CODE")], "ITEM_NOT_IN_CATALOGUE", "1"),
    ([line(1, AMOXICILLIN, "1", "12.51")], "PRICE_ABOVE_CATALOGUE", "1"),
    ([line(1, AMOXICILLIN, "1", "twelve")], "INVALID_ARGUMENT", "1"),
    ([line(1, AMOXICILLIN), line(1, AMOXICILLIN)], "INVALID_ARGUMENT", "1"),
    ([line(i, AMOXICILLIN) for i in range(1, 102)], "TOO_MANY_LINES", None),
])
def test_bad_baskets_are_refused_with_the_line_and_nothing_is_booked(till, qr, lines, reason,
                                                                      line_no):
    for call in (till.presettle, till.settle):
        r = refusal(call, qr, lines=lines)
        assert (r.code, r.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
        assert r.message
        if line_no:
            assert r.metadata["lineNo"] == line_no
    assert till.stub.ListSettlements(pb.ListSettlementsRequest(), timeout=30).settlements == []


def test_a_malformed_qr_code_is_refused(till):
    for payload in ("not a qr code", "x" * 5000):
        r = refusal(till.settle, payload)
        assert (r.code, r.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "QR_INVALID")
    assert refusal(till.presettle, "garbage").reason == "QR_INVALID"


def test_an_unknown_payment_context_is_refused(till):
    assert refusal(till.settle, context="ctx-unknown").reason == "PAYMENT_CONTEXT_INVALID"


def test_a_settle_without_a_way_to_pay_or_a_request_id_is_refused(till):
    r = refusal(till.stub.Settle, pb.SettleRequest(request_id="no-payment", lines=BASKET))
    assert (r.reason, r.metadata["field"]) == ("INVALID_ARGUMENT", "payment")
    r = refusal(till.stub.Settle, pb.SettleRequest(qr_payload="x", lines=BASKET))
    assert r.reason == "INVALID_ARGUMENT"


def test_an_oversize_message_is_refused_before_it_is_read(till, qr):
    huge = [pb.SaleLine(line_no=1, item_code="X" * (5 * 1024 * 1024), quantity="1")]
    with pytest.raises(grpc.RpcError) as err:
        till.settle(qr, lines=huge)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert till.stub.ListSettlements(pb.ListSettlementsRequest(), timeout=30).settlements == []


def test_bad_catalogue_imports_name_the_item(world, till):
    r = refusal(world.operator.ImportCatalogue, pb.ImportCatalogueRequest(
        request_id=f"cat-{uuid.uuid4()}", institution_code=till.code,
        items=[pb.CatalogueItem(item_code="OK1", name="x", unit_price="1", item_class=1),
               pb.CatalogueItem(item_code="BAD2", name="y", unit_price="-1", item_class=1)]))
    assert (r.reason, r.metadata["field"]) == ("INVALID_ARGUMENT", "items[1].unit_price")
    r = refusal(world.operator.ImportCatalogue, pb.ImportCatalogueRequest(
        request_id=f"cat-{uuid.uuid4()}", institution_code="P00000000000",
        items=[pb.CatalogueItem(item_code="OK1", name="x", unit_price="1", item_class=1)]))
    assert r.reason == "PHARMACY_NOT_FOUND"


def test_registrations_are_validated(world):
    r = refusal(world.operator.RegisterPharmacy, pb.RegisterPharmacyRequest(
        request_id="bad-reg", institution_code="short", name="x", level=1, region_code="610100"))
    assert (r.reason, r.metadata["field"]) == ("INVALID_ARGUMENT", "institution_code")
    r = refusal(world.operator.RegisterTerminal, pb.RegisterTerminalRequest(
        request_id="bad-term", institution_code="P00000000000"))
    assert r.reason == "PHARMACY_NOT_FOUND"


def test_issuer_refusals_keep_their_reason(world):
    till = world.pharmacy()
    person = world.insured()
    qr = world.qr(person)
    first = till.settle(qr).receipt
    r = refusal(till.settle, qr)  # a new sale with a QR code already exchanged
    assert (r.code, r.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "QR_ALREADY_USED")
    pre = till.presettle(world.qr(person))
    till.settle(context=pre.payment_context_id)
    r = refusal(till.settle, context=pre.payment_context_id)  # a context pays once
    assert r.reason == "PAYMENT_CONTEXT_INVALID" and r.metadata["settlementId"]
    assert till.get(r.metadata["settlementId"]).status == pb.SETTLEMENT_STATUS_FAILED
    assert first.status == pb.SETTLEMENT_STATUS_COMPLETED
