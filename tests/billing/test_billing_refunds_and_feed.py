"""Refunds of a closed visit, and the HIS event feed across reconnects.

A refund by lines returns the lines' insurance parts through card (the person's account
balance comes back) and writes their cash part off an unpaid bill (and the credit in use);
the rest refunded later makes the bill REFUNDED. A paid bill's cash part goes back through
the payment channel. The HIS feed resumes after a reconnect from the last event id seen,
without gaps or duplicates.
"""

from __future__ import annotations

import pytest
from billing_world import EventWatcher, line, rid

from medpay.billing.v1 import billing_pb2 as pb
from medpay_kit.client import error_reason

pytestmark = pytest.mark.db


def refund(hospital, visit_id: str, *line_ids: str, request_id: str | None = None):
    return hospital.his.RefundVisit(pb.RefundVisitRequest(
        request_id=request_id or rid("refund"), visit_id=visit_id, his_line_ids=list(line_ids)),
        timeout=30)


def closed_visit(world, hospital, person):
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, line("A1", "250101001", "A", "300.00"),
               line("B1", "XJ01CAA040A001010101445", "B", "48.60", "2", ratio_bp=1000),
               line("C1", "C-ITEM-1", "C", "45.50"))
    return world.close(hospital, visit.visit_id)


def test_refund_by_lines_of_an_unpaid_bill_then_the_rest(world):
    hospital = world.hospital()
    person = world.insured(balance_fen=50_000)
    world.enrol(person, hospital)
    closed = closed_visit(world, hospital, person)
    bill = closed.bill
    balance_before = world.account(person).balance.amount_fen
    used_before = world.agreement(person, hospital).used.amount_fen
    assert used_before == bill.self_pay_due.amount_fen > 0

    first = refund(hospital, closed.visit.visit_id, "C1", request_id="refund-c1")
    assert refund(hospital, closed.visit.visit_id, "C1", request_id="refund-c1") == first  # replay
    back = first.refunded
    assert back.total.amount_fen == 4_550
    assert back.total.amount_fen == back.fund_pay.amount_fen + back.account_pay.amount_fen \
        + back.cash_pay.amount_fen
    assert first.bill.status == pb.BILL_STATUS_PARTIALLY_REFUNDED
    assert first.bill.self_pay_due.amount_fen == bill.self_pay_due.amount_fen - back.cash_pay.amount_fen
    assert world.account(person).balance.amount_fen == balance_before + back.account_pay.amount_fen
    assert world.agreement(person, hospital).used.amount_fen == used_before - back.cash_pay.amount_fen
    assert error_reason(_refused(lambda: refund(hospital, closed.visit.visit_id, "C1"))) == "ALREADY_REFUNDED"

    rest = refund(hospital, closed.visit.visit_id)
    assert rest.bill.status == pb.BILL_STATUS_REFUNDED and rest.bill.self_pay_due.amount_fen == 0
    for part in ("total", "fund_pay", "account_pay", "cash_pay"):
        assert getattr(back, part).amount_fen + getattr(rest.refunded, part).amount_fen \
            == getattr(bill.split, part).amount_fen, part
    assert world.account(person).balance.amount_fen == balance_before + bill.split.account_pay.amount_fen
    assert world.agreement(person, hospital).used.amount_fen == 0
    visits = {v.visit_id: v for v in hospital.his.ListVisits(pb.ListVisitsRequest(), timeout=10).visits}
    assert visits[closed.visit.visit_id].status == pb.VISIT_STATUS_REFUNDED
    assert error_reason(_refused(lambda: refund(hospital, closed.visit.visit_id))) == "ALREADY_REFUNDED"
    assert error_reason(_refused(lambda: world.pay(person, bill.bill_id))) == "BILL_ALREADY_PAID"


def test_refund_of_a_paid_bill_returns_cash_through_the_channel(world):
    hospital = world.hospital()
    person = world.insured(balance_fen=50_000)
    world.enrol(person, hospital)
    closed = closed_visit(world, hospital, person)
    paid = world.pay(person, closed.bill.bill_id)
    assert paid.status == pb.BILL_STATUS_PAID
    whole = refund(hospital, closed.visit.visit_id)
    assert whole.refunded.cash_pay.amount_fen == closed.bill.split.cash_pay.amount_fen
    assert whole.refunded.account_pay == closed.bill.split.account_pay
    assert whole.bill.status == pb.BILL_STATUS_REFUNDED
    assert world.agreement(person, hospital).used.amount_fen == 0
    billing = world.stack.services["billing"].logs()
    assert f'"refund_id": "{whole.refund_id}"' in billing and '"cash_returned_fen": ' \
        f'{closed.bill.split.cash_pay.amount_fen}' in billing


def test_the_feed_resumes_after_a_reconnect_without_gaps_or_duplicates(world):
    hospital = world.hospital()
    person = world.insured(balance_fen=50_000)
    world.enrol(person, hospital)
    first = EventWatcher(hospital)
    one = closed_visit(world, hospital, person)
    seen = first.wait_for(1)
    first.stop()
    assert [e.kind for e in seen] == [pb.VISIT_EVENT_KIND_SETTLED]
    last = seen[-1].event_id

    # while the HIS is away: a payment, another visit, a refund
    world.pay(person, one.bill.bill_id)
    two = closed_visit(world, hospital, person)
    refund(hospital, two.visit.visit_id, "A1")

    again = EventWatcher(hospital, after=last)
    resumed = again.wait_for(3)
    world.pay(person, two.bill.bill_id)  # and one more, live
    resumed = again.wait_for(4)
    again.stop()
    assert [(e.kind, e.bill_id) for e in resumed] == [
        (pb.VISIT_EVENT_KIND_PAID, one.bill.bill_id), (pb.VISIT_EVENT_KIND_SETTLED, two.bill.bill_id),
        (pb.VISIT_EVENT_KIND_REFUNDED, two.bill.bill_id), (pb.VISIT_EVENT_KIND_PAID, two.bill.bill_id)]
    ids = [e.event_id for e in resumed]
    assert ids == list(range(last + 1, last + 5))  # no gap, no duplicate

    everything = EventWatcher(hospital, after=0)
    full = everything.wait_for(5)
    everything.stop()
    assert [e.event_id for e in full] == list(range(1, 6))


def _refused(call):
    import grpc

    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value
