"""Credit: the limit during a visit, then collection over days of a moved clock.

Charges that would pass the available credit are refused (nothing posted) and the HIS
collects at the window; an unpaid bill turns OVERDUE the day after its due date, which
suspends the agreement (no new credit visit) until it is paid; long default blacklists it,
and paying then does not lift the flag. With auto-debit, the bill is collected at its due
date; a declined auto-debit leaves it DUE, then OVERDUE. Time moves with
``stack.move_clock``; the collection pass runs every half second here.
"""

from __future__ import annotations

import time

import grpc
import pytest
from billing_world import EventWatcher, line, rid

from medpay.billing.v1 import billing_pb2 as pb
from medpay_kit.client import error_info, error_reason
from support.insured import qr_code

pytestmark = pytest.mark.db
DAY = 86_400


@pytest.fixture(scope="module")
def world(own_world):
    """This module moves its stack's clock by days: it has a stack of its own."""
    return own_world


def wait_until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def test_credit_limit_mid_visit_then_overdue_suspends_and_paying_reactivates(world):
    stack = world.stack
    person = world.insured(balance_fen=0)  # nothing in the account: the person's part is all cash
    hospital = world.hospital(limit_fen=20_000, grace_days=3, blacklist_days=5)
    agreement = world.enrol(person, hospital)
    watcher = EventWatcher(hospital)
    visit = world.open_visit(hospital, person)

    ok = world.post(hospital, visit.visit_id, line("L1", "C-ITEM-1", "C", "150.00"))
    assert ok.expected_self_pay.amount_fen == 15_000 and ok.available_credit.amount_fen == 5_000
    exc = refused(lambda: world.post(hospital, visit.visit_id, line("L2", "C-ITEM-2", "C", "100.00")))
    assert error_reason(exc) == "CREDIT_LIMIT_EXCEEDED"
    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(exc).metadata["availableFen"] == "20000"  # room for this visit's whole estimate
    # nothing was posted: the same line id is still free, and the visit still holds 150 yuan
    listed = hospital.his.ListVisits(pb.ListVisitsRequest(), timeout=10).visits
    assert [v.charged_total.amount_fen for v in listed if v.visit_id == visit.visit_id] == [15_000]
    assert world.post(hospital, visit.visit_id, line("L2", "C-ITEM-2", "C", "50.00")).accepted_his_line_ids

    bill = world.close(hospital, visit.visit_id).bill
    assert bill.self_pay_due.amount_fen == 20_000 and bill.status == pb.BILL_STATUS_DUE
    assert world.agreement(person, hospital).available.amount_fen == 0

    stack.move_clock(3 * DAY)  # the due date itself: still DUE
    time.sleep(1.2)
    assert world.bill(hospital.his, bill.bill_id).status == pb.BILL_STATUS_DUE
    stack.move_clock(1 * DAY)  # the day after: OVERDUE, agreement SUSPENDED
    assert wait_until(lambda: world.bill(hospital.his, bill.bill_id).status == pb.BILL_STATUS_OVERDUE)
    assert world.agreement(person, hospital).status == pb.AGREEMENT_STATUS_SUSPENDED
    exc = refused(lambda: world.open_visit(hospital, person))
    assert error_reason(exc) == "AGREEMENT_SUSPENDED"
    qr = qr_code(world.stack, person)  # refused for the agreement: the code is not used up
    assert error_reason(refused(lambda: world.open_visit(hospital, person, qr_payload=qr))) == \
        "AGREEMENT_SUSPENDED"

    paid = world.pay(person, bill.bill_id)
    assert paid.status == pb.BILL_STATUS_PAID
    again = world.agreement(person, hospital)
    assert again.status == pb.AGREEMENT_STATUS_ACTIVE and again.used.amount_fen == 0
    assert world.open_visit(hospital, person, qr_payload=qr).status == pb.VISIT_STATUS_OPEN
    assert agreement.agreement_id == again.agreement_id
    seen = watcher.wait_for(4)
    watcher.stop()
    assert [(pb.VisitEventKind.Name(e.kind), e.bill_id) for e in seen] == [
        ("VISIT_EVENT_KIND_SETTLED", bill.bill_id), ("VISIT_EVENT_KIND_OVERDUE", bill.bill_id),
        ("VISIT_EVENT_KIND_AGREEMENT_SUSPENDED", ""), ("VISIT_EVENT_KIND_PAID", bill.bill_id)]
    assert seen[2].agreement_id == agreement.agreement_id


def test_long_default_blacklists_and_paying_does_not_lift_it(world):
    stack = world.stack
    person = world.insured(balance_fen=0)
    hospital = world.hospital(limit_fen=50_000, grace_days=2, blacklist_days=5)
    world.enrol(person, hospital)
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, line("L1", "C-ITEM-1", "C", "80.00"))
    bill = world.close(hospital, visit.visit_id).bill

    stack.move_clock(3 * DAY)  # one day overdue
    assert wait_until(lambda: world.agreement(person, hospital).status == pb.AGREEMENT_STATUS_SUSPENDED)
    stack.move_clock(3 * DAY)  # four days overdue: not yet
    time.sleep(1.2)
    assert world.agreement(person, hospital).status == pb.AGREEMENT_STATUS_SUSPENDED
    stack.move_clock(1 * DAY)  # five days overdue: blacklisted
    assert wait_until(lambda: world.agreement(person, hospital).status == pb.AGREEMENT_STATUS_BLACKLISTED)
    assert error_reason(refused(lambda: world.open_visit(hospital, person))) == "AGREEMENT_BLACKLISTED"

    assert world.pay(person, bill.bill_id).status == pb.BILL_STATUS_PAID
    after = world.agreement(person, hospital)
    assert after.status == pb.AGREEMENT_STATUS_BLACKLISTED and after.used.amount_fen == 0
    # a blacklisted person cannot sign again at this hospital either
    exc = refused(lambda: world.enrol(person, hospital))
    assert error_reason(exc) == "AGREEMENT_EXISTS"


def test_auto_debit_collects_at_the_due_date_and_a_decline_goes_overdue(world):
    stack = world.stack
    hospital = world.hospital(limit_fen=50_000, grace_days=2, auto_debit=True, blacklist_days=30)
    payer, decliner = world.insured(balance_fen=0), world.insured(balance_fen=0)
    world.enrol(payer, hospital, auto_debit=True, payer="alipay-agreement-ok")
    world.enrol(decliner, hospital, auto_debit=True, payer="alipay-decline-card")
    bills = {}
    for person in (payer, decliner):
        visit = world.open_visit(hospital, person)
        world.post(hospital, visit.visit_id, line("L1", "C-ITEM-1", "C", "66.60"))
        bills[person.card_id] = world.close(hospital, visit.visit_id).bill.bill_id

    time.sleep(1.2)  # before the due date nothing is collected
    assert world.bill(hospital.his, bills[payer.card_id]).status == pb.BILL_STATUS_DUE
    stack.move_clock(2 * DAY)  # the due date
    assert wait_until(lambda: world.bill(hospital.his, bills[payer.card_id]).status == pb.BILL_STATUS_PAID)
    assert world.agreement(payer, hospital).used.amount_fen == 0
    declined = world.bill(hospital.his, bills[decliner.card_id])
    assert declined.status == pb.BILL_STATUS_DUE and declined.self_pay_due.amount_fen == 6_660
    stack.move_clock(1 * DAY)
    assert wait_until(lambda: world.bill(hospital.his, bills[decliner.card_id]).status
                      == pb.BILL_STATUS_OVERDUE)
    assert world.agreement(decliner, hospital).status == pb.AGREEMENT_STATUS_SUSPENDED
    # a relative pays with their own payment agreement
    paid = world.pay(decliner, bills[decliner.card_id], payer="alipay-relative-ok")
    assert paid.status == pb.BILL_STATUS_PAID
    assert world.agreement(decliner, hospital).status == pb.AGREEMENT_STATUS_ACTIVE
    # a paid bill cannot be paid twice
    exc = refused(lambda: world.app(decliner).PayBill(pb.PayBillRequest(
        request_id=rid("pay"), bill_id=paid.bill_id), timeout=10))
    assert error_reason(exc) == "BILL_ALREADY_PAID"
