"""The whole till story through real identity, card and pharmacy processes.

An insured person is enrolled and imported, gets a card after face-auth in the app, shows a
QR code; the till pre-settles, settles, cancels, refunds lines and reconciles the day to
zero difference with the service and the issuer.
"""

from __future__ import annotations

import uuid

import pytest
from pharmacy_till import AMOXICILLIN, CEFACLOR, VITAMIN_C, line, refusal

from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_pharmacy import mapping
from medpay_pharmacy.domain.receipt import render

pytestmark = pytest.mark.db

EMPLOYEE = insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC
STORY = [line(1, AMOXICILLIN, "20"), line(2, CEFACLOR, "1"), line(3, VITAMIN_C, "2")]


def parts(split) -> tuple[int, int, int, int]:
    return (split.total.amount_fen, split.fund_pay.amount_fen, split.account_pay.amount_fen,
            split.cash_pay.amount_fen)


def assert_identities(split) -> None:
    s = {f.name: getattr(split, f.name).amount_fen for f in split.DESCRIPTOR.fields
         if f.message_type is not None and f.message_type.name == "Money"}
    assert s["total"] == s["over_limit"] + s["full_self_pay"] + s["pre_self_pay"] + s["in_scope"]
    assert s["total"] == s["fund_pay"] + s["account_pay"] + s["cash_pay"]


def cny(fen: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=fen, currency="CNY")


def detail_rows(receipts: list[pb.Receipt], day: str) -> list[pb.DetailRow]:
    """The till's own record of the day, built from the receipts it printed."""
    rows = []
    for r in receipts:
        if r.business_date == day:
            rows.append(pb.DetailRow(
                settlement_id=r.settlement_id, request_id=r.request_id,
                total=r.split.total, fund_pay=r.split.fund_pay, account_pay=r.split.account_pay,
                cash_pay=r.split.cash_pay))
        for f in r.refunds:
            if f.business_date == day:
                rows.append(pb.DetailRow(
                    settlement_id=r.settlement_id, request_id=r.request_id, refund_id=f.refund_id,
                    refund=True, total=cny(-f.refunded.total.amount_fen),
                    fund_pay=cny(-f.refunded.fund_pay.amount_fen),
                    account_pay=cny(-f.refunded.account_pay.amount_fen),
                    cash_pay=cny(-f.refunded.cash_pay.amount_fen)))
    return rows


def totals_of(rows: list[pb.DetailRow]) -> pb.ReconcileTotals:
    return pb.ReconcileTotals(
        count=len(rows), total=cny(sum(r.total.amount_fen for r in rows)),
        fund_pay=cny(sum(r.fund_pay.amount_fen for r in rows)),
        account_pay=cny(sum(r.account_pay.amount_fen for r in rows)))


def test_the_whole_till_story(world):
    till = world.pharmacy()
    person = world.insured(balance_fen=100_000, via="face")  # the card issued after face-auth
    before = world.balance(person)

    pre = till.presettle(world.qr(person), lines=STORY)
    assert pre.payment_context_id and pre.masked_name.endswith("*")
    assert pre.insurance_type == EMPLOYEE
    assert_identities(pre.split)
    assert [ls.line_no for ls in pre.split.lines] == [1, 2, 3]
    assert world.balance(person) == before and world.held(person) == 0  # nothing held

    receipt = till.settle(context=pre.payment_context_id, lines=STORY).receipt
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
    assert parts(receipt.split) == parts(pre.split)
    total, fund, acct, cash = parts(receipt.split)
    assert total == 28_780 and fund > 0 and acct > 0 and cash > 0  # deductible passed: fund pays
    assert world.balance(person) == before - acct == receipt.split.balance_after.amount_fen
    assert receipt.issuer_reference and receipt.channel_transaction_id
    assert receipt.masked_name == pre.masked_name and receipt.business_date
    (charge,) = world.channel_transactions(receipt.settlement_id)
    assert charge.status == pb.CHANNEL_TRANSACTION_STATUS_SUCCEEDED
    assert charge.amount.amount_fen == cash and charge.channel == "sandbox"
    assert charge.transaction_id == receipt.channel_transaction_id
    slip = render(mapping.slip(receipt, basket={
        1: ("阿莫西林胶囊", "20", "12.50"), 2: ("头孢克洛缓释片", "1", "28.80"),
        3: ("维生素C片", "2", "4.50")}))
    assert receipt.settlement_id in slip and "28780" not in slip and "287.80" in slip
    print("\n" + slip)

    # cancel a second sale of the same day in full
    other = till.settle(world.qr(person), lines=[line(1, AMOXICILLIN, "1")]).receipt
    after_other = world.balance(person)
    cancelled = till.stub.CancelSettlement(pb.CancelSettlementRequest(
        request_id=f"cx-{uuid.uuid4()}", settlement_id=other.settlement_id,
        reason="customer changed mind"), timeout=60).receipt
    assert cancelled.status == pb.SETTLEMENT_STATUS_CANCELLED
    assert parts(cancelled.refunds[0].refunded) == parts(other.split)
    assert world.balance(person) == after_other + other.split.account_pay.amount_fen
    assert refusal(till.stub.CancelSettlement, pb.CancelSettlementRequest(
        request_id=f"cx-{uuid.uuid4()}", settlement_id=other.settlement_id)).reason == \
        "SETTLEMENT_NOT_CANCELLABLE"

    # returned medicine: line 3 (class C) fully, then the insurance part of line 2
    refund = till.stub.RefundLines(pb.RefundLinesRequest(
        request_id=f"rf-{uuid.uuid4()}", settlement_id=receipt.settlement_id,
        kind=insurance_pb2.REFUND_KIND_ALL, line_nos=[3]), timeout=60)
    assert refund.receipt.status == pb.SETTLEMENT_STATUS_PARTIALLY_REFUNDED
    assert_identities(refund.refunded)
    assert refund.refunded.total.amount_fen == 900 and refund.refunded.cash_pay.amount_fen == 900
    hi = till.stub.RefundLines(pb.RefundLinesRequest(
        request_id=f"rf-{uuid.uuid4()}", settlement_id=receipt.settlement_id,
        kind=insurance_pb2.REFUND_KIND_HI, line_nos=[2]), timeout=60)
    assert hi.refunded.cash_pay.amount_fen == 0
    assert len(hi.receipt.refunds) == 2
    back = sum(r.refunded.account_pay.amount_fen for r in hi.receipt.refunds)
    assert world.balance(person) == before - acct + back

    # reconcile the day: totals and detail rows agree with the till and with the issuer
    final = [till.get(receipt.settlement_id), till.get(other.settlement_id)]
    rows = detail_rows(final, receipt.business_date)
    assert len(rows) == 5  # two settlements, a cancellation, two refunds
    request = pb.ReconcileRequest(business_date=receipt.business_date, insurance_type=EMPLOYEE,
                                  totals=totals_of(rows), rows=rows)
    result = till.stub.Reconcile(request, timeout=60)
    assert result.matched and result.issuer_matched and not result.differences
    assert result.service_totals == totals_of(rows)

    # a till that lost one row and mistyped another gets exactly those two back
    wrong = list(rows[1:])
    wrong[0] = pb.DetailRow(**{**{f.name: getattr(wrong[0], f.name) for f in
                                  wrong[0].DESCRIPTOR.fields}, "cash_pay": cny(1)})
    mismatch = till.stub.Reconcile(pb.ReconcileRequest(
        business_date=receipt.business_date, insurance_type=EMPLOYEE, totals=totals_of(wrong),
        rows=wrong), timeout=60)
    assert not mismatch.matched and mismatch.issuer_matched
    kinds = sorted(pb.DifferenceKind.Name(d.kind) for d in mismatch.differences)
    assert kinds == ["DIFFERENCE_KIND_AMOUNT_DIFFERS", "DIFFERENCE_KIND_MISSING_AT_TILL"]


def test_settle_straight_from_a_qr_code_and_list_the_day(world):
    till = world.pharmacy()
    person = world.insured()
    receipt = till.settle(world.qr(person), lines=[line(1, AMOXICILLIN, "1")]).receipt
    assert receipt.status == pb.SETTLEMENT_STATUS_COMPLETED
    listed = till.stub.ListSettlements(pb.ListSettlementsRequest(
        business_date=receipt.business_date, status=pb.SETTLEMENT_STATUS_COMPLETED,
        terminal_id=till.terminal_id), timeout=30)
    assert [r.settlement_id for r in listed.settlements] == [receipt.settlement_id]
    assert till.get(settle_request_id=receipt.request_id) == receipt


def test_listing_is_paged_newest_first(world):
    till = world.pharmacy()
    person = world.insured()
    ids = [till.settle(world.qr(person), lines=[line(1, VITAMIN_C, "1")]).receipt.settlement_id
           for _ in range(3)]
    first = till.stub.ListSettlements(pb.ListSettlementsRequest(page_size=2), timeout=30)
    second = till.stub.ListSettlements(pb.ListSettlementsRequest(
        page_size=2, page_token=first.next_page_token), timeout=30)
    assert [r.settlement_id for r in [*first.settlements, *second.settlements]] == ids[::-1]
    assert not second.next_page_token


def test_a_pharmacy_without_outpatient_pooling_gets_no_fund_payment(world):
    till = world.pharmacy(pooling=False)
    person = world.insured()
    pre = till.presettle(world.qr(person), lines=STORY)
    assert pre.split.fund_pay.amount_fen == 0 and pre.split.fund_ratio_bp == 0
