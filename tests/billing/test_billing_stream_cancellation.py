"""A client's streams cannot wedge billing: a hundred WatchVisitEvents streams cancelled
abruptly — while waiting for events, in the middle of a batch, by closing their channel,
and by killing the process that held them — while other hospitals keep writing, leave
every hospital's writes working within a short deadline, and a new watcher still gets
the new events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest
from billing_world import EventWatcher, line, rid

from medpay.billing.v1 import billing_pb2 as pb
from medpay.billing.v1 import billing_pb2_grpc
from medpay.common.v1 import insurance_pb2 as ins
from medpay_kit.client import error_reason
from support.harness import ROOT

pytestmark = pytest.mark.db

SHORT = 10.0  # seconds: a write that hangs runs into it; a healthy one takes a fraction

_HOLDER = """
import sys, time
from pathlib import Path
from medpay.billing.v1 import billing_pb2 as pb, billing_pb2_grpc
from medpay_kit.client import blocking_channel
target, pki, token, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
stub = billing_pb2_grpc.BillingServiceStub(blocking_channel(target, pki, token=token))
calls = [stub.WatchVisitEvents(pb.WatchVisitEventsRequest(after_event_id=0)) for _ in range(n)]
for call in calls[: n // 2]:
    next(call)  # mid-stream: an event read, more may be on the way
print("holding", flush=True)
time.sleep(600)
"""


def a_visit_cycle(world, hospital, person, timeout: float = SHORT) -> pb.CloseVisitResponse:
    visit = hospital.his.OpenVisit(pb.OpenVisitRequest(
        request_id=rid("open"), card_id=person.card_id, department="IM01",
        medical_type=ins.MEDICAL_TYPE_OUTPATIENT), timeout=timeout).visit
    hospital.his.PostCharges(pb.PostChargesRequest(
        request_id=rid("post"), visit_id=visit.visit_id,
        lines=[line("A1", "250101001", "A", "30.00"), line("C1", "C-ITEM-1", "C", "4.50")]),
        timeout=timeout)
    hospital.his.CancelCharge(pb.CancelChargeRequest(
        request_id=rid("cancel"), visit_id=visit.visit_id, his_line_id="C1"), timeout=timeout)
    return hospital.his.CloseVisit(pb.CloseVisitRequest(
        request_id=rid("close"), visit_id=visit.visit_id), timeout=timeout)


def test_abruptly_cancelled_streams_leave_every_hospital_writing(world):
    busy, quiet = world.hospital(), world.hospital()
    alice, bob = world.insured(balance_fen=50_000), world.insured(balance_fen=50_000)
    world.enrol(alice, busy)
    world.enrol(bob, quiet, use_account=False)  # his visits leave a bill to pay
    for _ in range(2):
        a_visit_cycle(world, busy, alice, timeout=30)  # events 1, 2 at the busy hospital

    stack = world.stack
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, stack.services["billing"].target, str(stack.pki),
         busy.credential, "20"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "services")})
    channels = [stack.channel("billing", token=token) for token in
                [busy.credential] * 4 + [quiet.credential] * 4]
    calls: list[grpc.Future] = []
    for i, channel in enumerate(channels):
        stub = billing_pb2_grpc.BillingServiceStub(channel)
        for _ in range(10):
            call = stub.WatchVisitEvents(pb.WatchVisitEventsRequest(after_event_id=0))
            if i < 4 and len(calls) % 2 == 0:
                next(call)  # mid-stream (the busy hospital has events)
            calls.append(call)
    assert holder.stdout.readline().strip() == b"holding"
    time.sleep(0.5)  # the quiet hospital's streams are waiting on the bell by now

    # other hospitals keep writing (and ringing the bell) while the streams go away
    writes_failed: list[BaseException] = []

    def keep_writing() -> None:
        try:
            for _ in range(3):
                a_visit_cycle(world, busy, alice, timeout=30)
        except BaseException as exc:  # reported by the assertion below
            writes_failed.append(exc)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    for i, call in enumerate(calls):
        call.cancel()
        if i % 7 == 0:
            call.cancel()  # twice
    for channel in channels[3::4]:
        channel.close()  # every stream on it at once
    holder.send_signal(signal.SIGKILL)  # 20 more streams dropped without a goodbye
    holder.wait(10)
    writer.join(120)
    assert not writer.is_alive() and not writes_failed, writes_failed

    # both hospitals' writes finish well within a short deadline
    everything = EventWatcher(busy)
    last_busy = max(e.event_id for e in everything.wait_for(5))
    everything.stop()
    fresh_busy, fresh_quiet = EventWatcher(busy, after=last_busy), EventWatcher(quiet)
    try:
        busy_close = a_visit_cycle(world, busy, alice)
        quiet_close = a_visit_cycle(world, quiet, bob)
        assert quiet_close.bill.status == pb.BILL_STATUS_DUE
        paid = world.app(bob).PayBill(pb.PayBillRequest(
            request_id=rid("pay"), bill_id=quiet_close.bill.bill_id), timeout=SHORT).bill
        assert paid.status == pb.BILL_STATUS_PAID
        assert [(e.kind, e.visit_id) for e in fresh_busy.wait_for(1)] == [
            (pb.VISIT_EVENT_KIND_SETTLED, busy_close.visit.visit_id)]
        assert [(e.kind, e.visit_id) for e in fresh_quiet.wait_for(2)] == [
            (pb.VISIT_EVENT_KIND_SETTLED, quiet_close.visit.visit_id),
            (pb.VISIT_EVENT_KIND_PAID, quiet_close.visit.visit_id)]
    finally:
        fresh_busy.stop()
        fresh_quiet.stop()
    assert fresh_busy.error is None and fresh_quiet.error is None


def test_a_close_or_payment_whose_caller_gave_up_does_not_block_the_retry(world):
    """Callers whose deadline runs out at every point of CloseVisit and PayBill (before the
    claim, during card's Authorize/Capture, during the channel charge): the work they
    started is finished, not left leased for the recovery loop, so an immediate retry
    under a new request id answers within a short deadline."""
    hospital = world.hospital()
    person = world.insured(balance_fen=50_000)
    world.enrol(person, hospital, use_account=False)
    for deadline in (0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3):
        visit = world.open_visit(hospital, person)
        world.post(hospital, visit.visit_id, line("A1", "250101001", "A", "30.00"))
        try:
            hospital.his.CloseVisit(pb.CloseVisitRequest(
                request_id=rid("close"), visit_id=visit.visit_id), timeout=deadline)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED, exc
        closed = hospital.his.CloseVisit(pb.CloseVisitRequest(
            request_id=rid("close"), visit_id=visit.visit_id), timeout=SHORT)
        assert closed.visit.status == pb.VISIT_STATUS_CLOSED
        assert closed.bill.status == pb.BILL_STATUS_DUE

        app = world.app(person)
        try:
            app.PayBill(pb.PayBillRequest(request_id=rid("pay"), bill_id=closed.bill.bill_id),
                        timeout=deadline)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED, exc
        deadline_at = time.monotonic() + SHORT
        while True:  # the abandoned payment finishes on its own; no lease to wait out
            try:
                paid = app.PayBill(pb.PayBillRequest(
                    request_id=rid("pay"), bill_id=closed.bill.bill_id), timeout=SHORT).bill
                break
            except grpc.RpcError as exc:
                reason = error_reason(exc)
                if reason == "BILL_ALREADY_PAID":
                    paid = world.bill(app, closed.bill.bill_id)
                    break
                assert reason == "REQUEST_IN_PROGRESS" and time.monotonic() < deadline_at, exc
                time.sleep(0.1)
        assert paid.status == pb.BILL_STATUS_PAID
