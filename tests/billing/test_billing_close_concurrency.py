"""CloseVisit is idempotent under pressure and survives a crash in the middle.

Twenty concurrent CloseVisit calls (each its own request id, as a HIS retrying over
several connections would) produce one bill, one hold captured at card, one account
movement and one SETTLED event, and all twenty answers are the same. A billing process
killed right after Authorize, or right after Capture, is restarted and its recovery loop
finishes the close, with exactly one settlement at card.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from billing_world import EventWatcher, Hospital, billing_stub, card_stub, line

from medpay.billing.v1 import billing_pb2 as pb
from medpay.card.v1 import card_pb2

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def world(own_world):
    """This module kills and restarts billing: it has a stack of its own (short leases)."""
    return own_world


def settlements_at_card(world, person) -> list[card_pb2.AccountEntry]:
    operator = card_stub(world.stack, token=world.stack.operator_token)
    entries = operator.ListAccountEntries(card_pb2.ListAccountEntriesRequest(
        card_id=person.card_id, page_size=500), timeout=10).entries
    return [e for e in entries if e.kind == card_pb2.ACCOUNT_ENTRY_KIND_SETTLEMENT]


def daily_rows(world, hospital, bill) -> list[card_pb2.DailyRow]:
    from datetime import timedelta

    day = (bill.issued_at.ToDatetime() + timedelta(hours=8)).date().isoformat()
    return list(world.card_as_billing().GetDailyTotals(card_pb2.GetDailyTotalsRequest(
        merchant_id=hospital.code, business_date=day, include_rows=True), timeout=10).rows)


def a_charged_visit(world, hospital, person):
    visit = world.open_visit(hospital, person)
    world.post(hospital, visit.visit_id, line("A1", "250101001", "A", "300.00"),
               line("C1", "C-ITEM-1", "C", "45.50"))
    return visit


def test_twenty_concurrent_closes_make_one_bill(world):
    person = world.insured(balance_fen=50_000)
    hospital = world.hospital()
    world.enrol(person, hospital)
    watcher = EventWatcher(hospital)
    visit = a_charged_visit(world, hospital, person)
    balance_before = world.account(person).balance.amount_fen

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: world.close(hospital, visit.visit_id), range(20)))
    elapsed = time.perf_counter() - started

    bill_ids = {r.bill.bill_id for r in replies}
    assert len(bill_ids) == 1 and all(r.visit.status == pb.VISIT_STATUS_CLOSED for r in replies)
    assert all(r.bill == replies[0].bill for r in replies)
    bill = replies[0].bill
    assert len(settlements_at_card(world, person)) == 1
    assert balance_before - world.account(person).balance.amount_fen == bill.split.account_pay.amount_fen
    rows = daily_rows(world, hospital, bill)
    assert [(r.acquirer_reference, r.refund) for r in rows] == [(visit.visit_id, False)]
    assert world.agreement(person, hospital).used.amount_fen == bill.split.cash_pay.amount_fen
    events = watcher.wait_for(1)
    time.sleep(0.5)
    watcher.stop()
    assert [(e.kind, e.bill_id) for e in watcher.events] == [(pb.VISIT_EVENT_KIND_SETTLED, bill.bill_id)]
    assert events
    # a retry with one of the same request ids replays; a later close answers the same bill
    assert world.close(hospital, visit.visit_id).bill.bill_id == bill.bill_id
    print(f"\n20 concurrent CloseVisit: {elapsed * 1000:.0f} ms, 1 bill, 1 capture")


@pytest.mark.parametrize("step", ["authorize", "capture"])
def test_a_crash_in_the_middle_of_close_is_finished_by_recovery(world, step):
    stack = world.stack
    billing = stack.services["billing"]
    billing.stop()
    crashes_before = billing.logs().count('"test_crash_hook_fired"')
    recovered_before = billing.logs().count('"visit_close_recovered"')
    billing.env["MEDPAY_BILLING_TEST_CRASH_AFTER"] = step
    billing.start()
    person = world.insured(balance_fen=50_000)
    hospital = world.hospital()
    world.enrol(person, hospital)
    visit = a_charged_visit(world, hospital, person)
    with pytest.raises(grpc.RpcError) as err:
        world.close(hospital, visit.visit_id)
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    assert billing.proc.wait(10) == 137
    assert billing.logs().count('"test_crash_hook_fired"') == crashes_before + 1
    billing.env.pop("MEDPAY_BILLING_TEST_CRASH_AFTER")
    billing.start()
    hospital = Hospital(hospital.code, billing_stub(stack, hospital.credential), hospital.credential)

    deadline = time.monotonic() + 30
    listed = None
    while time.monotonic() < deadline:
        listed = {v.visit_id: v for v in hospital.his.ListVisits(pb.ListVisitsRequest(), timeout=10).visits}
        if listed[visit.visit_id].status == pb.VISIT_STATUS_CLOSED:
            break
        time.sleep(0.2)
    assert listed[visit.visit_id].status == pb.VISIT_STATUS_CLOSED
    assert billing.logs().count('"visit_close_recovered"') == recovered_before + 1
    bill = world.bill(hospital.his, listed[visit.visit_id].bill_id)
    assert len(settlements_at_card(world, person)) == 1
    assert [r.acquirer_reference for r in daily_rows(world, hospital, bill)] == [visit.visit_id]
    assert world.account(person).held.amount_fen == 0
    # CloseVisit now answers from the finished close
    assert world.close(hospital, visit.visit_id).bill.bill_id == bill.bill_id


def test_concurrent_charges_on_several_visits_never_pass_the_credit_limit(world):
    from medpay_kit.client import error_reason

    person = world.insured(balance_fen=0)
    hospital = world.hospital(limit_fen=10_000)
    world.enrol(person, hospital)
    visits = [world.open_visit(hospital, person).visit_id for _ in range(8)]

    def post(visit_id: str) -> str:
        try:
            world.post(hospital, visit_id, line("C1", "C-ITEM-1", "C", "30.00"))
            return "OK"
        except grpc.RpcError as exc:
            return error_reason(exc) or "?"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(post, visits))
    assert sorted(outcomes) == ["CREDIT_LIMIT_EXCEEDED"] * 5 + ["OK"] * 3, outcomes
    agreement = world.agreement(person, hospital)
    assert agreement.used.amount_fen == 9_000 and agreement.available.amount_fen == 1_000
