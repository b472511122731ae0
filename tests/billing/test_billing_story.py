"""The whole story of one pay-after-treatment visit, as the people involved live it.

A person signs a credit agreement after face-auth in the app, books an appointment, is
seen; the HIS opens the visit from the appointment, posts charges in two batches (one line
sent twice), withdraws one, closes the visit; the insurance parts are booked on the
person's card account at once and the cash part becomes a bill, which the person pays in
the app. The HIS's event stream saw every step, in order.
"""

from __future__ import annotations

import pytest
from billing_world import EventWatcher, line, rid, slot

from medpay.billing.v1 import billing_pb2 as pb
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2 as ins
from medpay_kit.client import error_reason
from support.insured import qr_code

pytestmark = pytest.mark.db

VISIT_LINES = {
    "first": [line("F001", "001101000010000-110200001", "A", "25.00", name="普通门诊诊查费"),
              line("F002", "XJ01CAA040A001010101445", "B", "48.60", "2", ratio_bp=1000,
                   name="阿莫西林胶囊"),
              line("F003", "C-HEALTH-CHECK-PKG", "C", "120", name="体检套餐")],
    "second": [line("F003", "C-HEALTH-CHECK-PKG", "C", "120.00", name="体检套餐"),
               line("F004", "250101001", "A", "380.00", name="血常规+生化"),
               line("F005", "250101002", "A", "30.00", name="尿常规")],
}


def test_a_visit_from_face_auth_to_paid_bill(world):
    person = world.insured(balance_fen=100_000)
    hospital = world.hospital(limit_fen=100_000, grace_days=10)
    watcher = EventWatcher(hospital)
    try:
        agreement = world.enrol(person, hospital, face=True, payer="alipay-agreement-ok")
        assert agreement.status == pb.AGREEMENT_STATUS_ACTIVE
        assert agreement.limit.amount_fen == 100_000 and agreement.available.amount_fen == 100_000

        app = world.app(person)
        booked = app.BookAppointment(pb.BookAppointmentRequest(
            request_id=rid("book"), institution_code=hospital.code, department="IM01",
            slot_start=slot(days=1)), timeout=10).appointment
        assert booked.status == pb.APPOINTMENT_STATUS_BOOKED

        visit = world.open_visit(hospital, person, appointment_id=booked.appointment_id)
        assert visit.status == pb.VISIT_STATUS_OPEN and visit.card_id == person.card_id
        assert visit.masked_name.endswith("*") and visit.agreement_id == agreement.agreement_id

        first = world.post(hospital, visit.visit_id, *VISIT_LINES["first"])
        assert list(first.accepted_his_line_ids) == ["F001", "F002", "F003"]
        second = world.post(hospital, visit.visit_id, *VISIT_LINES["second"])
        assert list(second.accepted_his_line_ids) == ["F004", "F005"]
        assert list(second.duplicate_his_line_ids) == ["F003"]  # "120" and "120.00" are one price
        cancelled = hospital.his.CancelCharge(pb.CancelChargeRequest(
            request_id=rid("cancel"), visit_id=visit.visit_id, his_line_id="F005"), timeout=20)
        assert cancelled.expected_self_pay.amount_fen <= second.expected_self_pay.amount_fen

        before = world.account(person)
        closed = world.close(hospital, visit.visit_id)
        bill = closed.bill
        split = bill.split
        assert closed.visit.status == pb.VISIT_STATUS_CLOSED and closed.visit.bill_id == bill.bill_id
        # total: 25 + 48.60 × 2 + 120 + 380 yuan (F005 withdrawn, F003 counted once)
        assert split.total.amount_fen == 62_220
        assert split.total.amount_fen == (split.fund_pay.amount_fen + split.account_pay.amount_fen
                                          + split.cash_pay.amount_fen)
        assert [(ln.line_no, ln.his_line_id) for ln in bill.lines] == [
            (1, "F001"), (2, "F002"), (3, "F003"), (4, "F004")]
        assert [ln.line_no for ln in split.lines] == [1, 2, 3, 4]
        assert bill.status == pb.BILL_STATUS_DUE
        assert bill.self_pay_due.amount_fen == split.cash_pay.amount_fen
        assert split.cash_pay.amount_fen == cancelled.expected_self_pay.amount_fen
        assert bill.issuer_reference

        # the insurance parts are on the card account at once
        after = world.account(person)
        assert before.balance.amount_fen - after.balance.amount_fen == split.account_pay.amount_fen
        assert after.balance.amount_fen == split.balance_after.amount_fen
        counter = next(c for c in after.counters if c.medical_type == ins.MEDICAL_TYPE_OUTPATIENT)
        assert counter.pooled_fund_paid.amount_fen == split.fund_pay.amount_fen
        assert counter.deductible_used.amount_fen == split.deductible.amount_fen
        totals = world.card_as_billing().GetDailyTotals(card_pb2.GetDailyTotalsRequest(
            merchant_id=hospital.code, business_date=_business_date(closed.visit.closed_at),
            include_rows=True), timeout=10)
        assert totals.count == 1 and totals.fund_pay.amount_fen == split.fund_pay.amount_fen
        assert totals.account_pay.amount_fen == split.account_pay.amount_fen
        assert totals.rows[0].acquirer_reference == visit.visit_id

        owed = world.agreement(person, hospital)
        assert owed.used.amount_fen == split.cash_pay.amount_fen
        assert owed.available.amount_fen == 100_000 - split.cash_pay.amount_fen

        listed = app.ListBills(pb.ListBillsRequest(), timeout=10).bills
        assert [b.bill_id for b in listed] == [bill.bill_id]

        paid = world.pay(person, bill.bill_id)
        assert paid.status == pb.BILL_STATUS_PAID and paid.self_pay_due.amount_fen == 0
        assert paid.channel_transaction_id.startswith("SBX") and paid.HasField("paid_at")
        assert world.agreement(person, hospital).used.amount_fen == 0
        assert world.bill(hospital.his, bill.bill_id).status == pb.BILL_STATUS_PAID

        seen = watcher.wait_for(2)
        assert [(e.kind, e.visit_id, e.bill_id) for e in seen] == [
            (pb.VISIT_EVENT_KIND_SETTLED, visit.visit_id, bill.bill_id),
            (pb.VISIT_EVENT_KIND_PAID, visit.visit_id, bill.bill_id)]
        assert [e.event_id for e in seen] == sorted({e.event_id for e in seen})
        print_bill(paid)
    finally:
        watcher.stop()


def test_a_walk_in_opens_with_the_qr_code_and_the_his_pages_its_visits(world):
    hospital = world.hospital()
    person = world.insured()
    world.enrol(person, hospital)
    qr = qr_code(world.stack, person)
    request = pb.OpenVisitRequest(request_id=rid("open-qr"), qr_payload=qr, department="ER01")
    visit = hospital.his.OpenVisit(request, timeout=20).visit
    assert visit.card_id == person.card_id and visit.department == "ER01"
    assert visit.medical_type == ins.MEDICAL_TYPE_OUTPATIENT  # unset means outpatient
    assert hospital.his.OpenVisit(request, timeout=20).visit == visit  # a retry replays
    with pytest.raises(Exception) as err:
        world.open_visit(hospital, person, qr_payload=qr)  # a QR code is single-use
    assert error_reason(err.value) == "QR_ALREADY_USED"

    opened = [visit.visit_id] + [world.open_visit(hospital, person).visit_id for _ in range(4)]
    seen, token = [], ""
    while True:
        page = hospital.his.ListVisits(pb.ListVisitsRequest(page_size=2, page_token=token), timeout=10)
        seen += [v.visit_id for v in page.visits]
        token = page.next_page_token
        if not token:
            break
    assert seen == opened[::-1]  # newest first, each exactly once
    today = hospital.his.ListVisits(pb.ListVisitsRequest(
        opened_date=_business_date(visit.opened_at), status=pb.VISIT_STATUS_OPEN), timeout=10)
    assert len(today.visits) == 5


def test_a_bill_with_nothing_to_pay_is_issued_paid(world):
    hospital = world.hospital()
    person = world.insured(balance_fen=100_000)
    world.enrol(person, hospital)
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, line("A1", "250101001", "A", "8.00"))  # the account pays it all
    closed = world.close(hospital, visit.visit_id)
    assert closed.bill.split.cash_pay.amount_fen == 0 and closed.bill.status == pb.BILL_STATUS_PAID
    assert closed.bill.split.account_pay.amount_fen == 800
    assert world.agreement(person, hospital).used.amount_fen == 0
    empty = world.open_visit(hospital, person)
    nothing = world.close(hospital, empty.visit_id)  # a visit with no charges closes without a bill
    assert nothing.visit.status == pb.VISIT_STATUS_CLOSED and not nothing.HasField("bill")


def _business_date(ts) -> str:
    from datetime import timedelta

    return (ts.ToDatetime() + timedelta(hours=8)).date().isoformat()


def print_bill(bill: pb.Bill) -> None:
    """The bill as the app shows it (visible with ``pytest -s``)."""
    s = bill.split
    yuan = lambda m: f"{m.amount_fen / 100:>9.2f}"  # noqa: E731 - display only
    print(f"\nBill {bill.bill_id}  visit {bill.visit_id}  status {pb.BillStatus.Name(bill.status)}")
    for ln, his in zip(s.lines, bill.lines, strict=True):
        print(f"  {his.his_line_id} {ln.item_code[:24]:<24} class {'?ABC'[ln.item_class]} "
              f"amount {yuan(ln.amount)}  over-cap {yuan(ln.over_limit)}  self {yuan(ln.full_self_pay)}"
              f"  pay-first {yuan(ln.pre_self_pay)}  in-scope {yuan(ln.in_scope)}")
    print(f"  total {yuan(s.total)}  deductible {yuan(s.deductible)}  pooled fund {yuan(s.fund_pay)}"
          f" ({s.fund_ratio_bp / 100:.0f} %)  personal account {yuan(s.account_pay)}"
          f"  on credit {yuan(s.cash_pay)}  balance after {yuan(s.balance_after)}")
    print(f"  due {bill.due_date}; still to pay {yuan(bill.self_pay_due)};"
          f" policy {s.policy_id} v{s.policy_version}")
