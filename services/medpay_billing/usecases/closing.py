"""CloseVisit: settle the visit with card and turn the self-pay part into a bill.

Two-phase, intent first: the visit is moved OPEN → CLOSING (its close attempt counted,
leased to the driving call), then ``card.Authorize`` and ``card.Capture`` run with request
ids derived from the visit and attempt, then one transaction issues the bill, records the
hospital's payout, replaces the visit's credit estimate by the settled self-pay and emits
SETTLED. Any number of concurrent CloseVisit calls drive it once: the others wait for the
outcome and answer from it. A crash leaves the visit CLOSING; the recovery pass takes it
over when its lease runs out and finishes it (or unwinds it when card refuses).
"""

from __future__ import annotations

import asyncio
import time

import structlog
from sqlalchemy import select, update

from medpay.billing.v1 import billing_pb2 as pb
from medpay.common.v1 import split_pb2
from medpay_billing import convert
from medpay_billing.adapters import credit, events
from medpay_billing.adapters.rows import new_id, new_owner
from medpay_billing.adapters.tables import bills, payouts, visits
from medpay_billing.domain.bill import issued_status
from medpay_billing.domain.dates import business_day, due_date
from medpay_billing.domain.visit import (
    FINAL_REFUSALS,
    CloseStep,
    VisitStatus,
    authorize_request_id,
    capture_request_id,
    void_request_id,
)
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.scope import (
    agreement_row,
    bill_line_map,
    hospital_of_visit,
    live_lines,
    visit_for,
)
from medpay_kit.auth import Caller, current_caller
from medpay_kit.detach import run_to_end
from medpay_kit.errors import DomainError, outcome_unknown_on_failure

log = structlog.get_logger()
V = visits.c
SETTLED = (VisitStatus.CLOSED, VisitStatus.PARTIALLY_REFUNDED, VisitStatus.REFUNDED)


async def close_visit(deps: Deps, request: pb.CloseVisitRequest) -> pb.CloseVisitResponse:
    caller = current_caller()
    return await deps.first(caller, "CloseVisit", request, pb.CloseVisitResponse,
                            lambda: _close_visit(deps, caller, request))


async def _close_visit(deps: Deps, caller: Caller, request: pb.CloseVisitRequest) -> pb.CloseVisitResponse:
    deadline = time.monotonic() + deps.settings.close_wait_s
    drove = False
    while True:
        async with deps.db.read() as session:
            visit = await visit_for(session, caller, request.visit_id)
        status = VisitStatus(visit.status)
        if status in SETTLED:
            return await deps.remember(caller, "CloseVisit", request,
                                       await closed_response(deps, visit.visit_id))
        if status is VisitStatus.OPEN and not drove:
            # claim and drive to the end even if this caller goes away (kit.detach)
            if await run_to_end(_claim_and_drive(deps, visit.visit_id)):
                drove = True
                continue
        if time.monotonic() > deadline:
            raise DomainError("REQUEST_IN_PROGRESS", "the visit is being closed; ask again shortly",
                              visitId=visit.visit_id)
        await asyncio.sleep(0.05)


async def closed_response(deps: Deps, visit_id: str) -> pb.CloseVisitResponse:
    async with deps.db.read() as session:
        visit = (await session.execute(select(visits).where(V.visit_id == visit_id))).one()
        bill = None
        if visit.bill_id:
            row = (await session.execute(select(bills).where(
                bills.c.bill_id == visit.bill_id))).one()
            bill = convert.bill(row, await bill_line_map(session, visit_id))
    return pb.CloseVisitResponse(visit=convert.visit(visit), bill=bill)


async def _claim_and_drive(deps: Deps, visit_id: str) -> bool:
    owner = new_owner()
    if not await _claim(deps, visit_id, owner):
        return False
    # CLOSING: money may move from here on, and recovery ends what is left
    with outcome_unknown_on_failure("the outcome is not known yet; retry with the same "
                                    "request_id or ask ListVisits", visitId=visit_id):
        await drive(deps, visit_id, owner)
    return True


async def _claim(deps: Deps, visit_id: str, owner: str) -> bool:
    async with deps.db.write() as session:
        result = await session.execute(update(visits).where(
            V.visit_id == visit_id, V.status == VisitStatus.OPEN.value).values(
            status=VisitStatus.CLOSING.value, close_step=CloseStep.INTENT.value,
            close_attempt=V.close_attempt + 1, lease_owner=owner, lease_until=deps.lease_until()))
        return result.rowcount == 1


async def _step(deps: Deps, visit_id: str, owner: str, **values: object) -> bool:
    """Persist a step while ``owner`` still holds the lease (and renew it)."""
    async with deps.db.write() as session:
        result = await session.execute(update(visits).where(
            V.visit_id == visit_id, V.status == VisitStatus.CLOSING.value, V.lease_owner == owner)
            .values(lease_until=deps.lease_until(), **values))
        return result.rowcount == 1


async def drive(deps: Deps, visit_id: str, owner: str) -> None:
    """Take a CLOSING visit leased to ``owner`` as far as it goes."""
    async with deps.db.read() as session:
        visit = (await session.execute(select(visits).where(V.visit_id == visit_id))).one()
        if visit.status != VisitStatus.CLOSING.value or visit.lease_owner != owner:
            return
        hospital = await hospital_of_visit(session, visit.institution_code)
        agreement = await agreement_row(session, visit.agreement_id)
        lines = await live_lines(session, visit_id)
    if not lines:
        await _finish(deps, visit, owner, None, "", hospital.grace_days)
        return
    attempt, hold_id = visit.close_attempt, visit.hold_id
    if visit.close_step == CloseStep.INTENT.value:
        try:
            auth = await deps.card.authorize(
                authorize_request_id(visit_id, attempt), visit.card_id, visit.institution_code,
                visit.medical_type, hospital.level, agreement.use_personal_account, lines,
                acquirer_reference=visit_id)
        except DomainError as exc:
            if exc.reason in FINAL_REFUSALS:
                await _unwind(deps, visit_id, owner, attempt, "", exc.reason)
            raise
        hold_id = auth.hold_id
        if not await _step(deps, visit_id, owner, close_step=CloseStep.AUTHORIZED.value,
                           hold_id=hold_id, authorized_split=auth.split.SerializeToString()):
            return
        deps.crash_after("authorize")
    try:
        captured = await deps.card.capture(capture_request_id(visit_id, attempt), hold_id)
    except DomainError as exc:
        if exc.reason in FINAL_REFUSALS:
            await _unwind(deps, visit_id, owner, attempt, hold_id, exc.reason)
        raise
    deps.crash_after("capture")
    deps.fail_after("capture")
    await _finish(deps, visit, owner, captured.split, captured.issuer_reference,
                  hospital.grace_days, hold_id)


async def _finish(deps: Deps, visit, owner: str, split: split_pb2.ClaimSplit | None,  # type: ignore[no-untyped-def]
                  issuer_reference: str, grace_days: int, hold_id: str = "") -> None:
    now = deps.now()
    async with deps.db.write() as session:
        fenced = await session.execute(update(visits).where(
            V.visit_id == visit.visit_id, V.status == VisitStatus.CLOSING.value,
            V.lease_owner == owner).values(status=VisitStatus.CLOSED.value, closed_at=now,
                                           close_step="", lease_owner="", lease_until=None,
                                           reserved_fen=0))
        if fenced.rowcount != 1:
            return
        cash = split.cash_pay.amount_fen if split is not None else 0
        await credit.shift(session, visit.agreement_id, cash - visit.reserved_fen, now)
        bill_id = ""
        if split is not None:
            bill_id = new_id("BL", now)
            await session.execute(bills.insert().values(
                bill_id=bill_id, visit_id=visit.visit_id, agreement_id=visit.agreement_id,
                institution_code=visit.institution_code, card_id=visit.card_id,
                status=issued_status(cash).value, split=split.SerializeToString(),
                cash_fen=cash, self_pay_due_fen=cash,
                due_date=due_date(now, grace_days).isoformat(), overdue=False, issued_at=now,
                paid_at=None if cash else now, hold_id=hold_id, issuer_reference=issuer_reference,
                channel_reference="", channel_transaction_id="", paying_reference=None,
                paying_amount_fen=0, payment_attempts=0, last_auto_debit_on=""))
            await session.execute(payouts.insert().values(
                payout_id=new_id("PO", now), institution_code=visit.institution_code,
                visit_id=visit.visit_id, bill_id=bill_id, refund_id="",
                total_fen=split.total.amount_fen, fund_fen=split.fund_pay.amount_fen,
                account_fen=split.account_pay.amount_fen, credit_cash_fen=cash,
                business_date=business_day(now).isoformat(), created_at=now))
            await session.execute(update(visits).where(V.visit_id == visit.visit_id)
                                  .values(bill_id=bill_id))
        await events.append(session, visit.institution_code, "SETTLED", now,
                            visit_id=visit.visit_id, bill_id=bill_id,
                            agreement_id=visit.agreement_id)
    deps.bell.ring()
    log.info("visit_settled", visit_id=visit.visit_id, bill_id=bill_id, self_pay_fen=cash)


async def _unwind(deps: Deps, visit_id: str, owner: str, attempt: int, hold_id: str,
                  reason: str) -> None:
    """Card refused for good: release any hold and reopen the visit for changes."""
    if hold_id:
        try:
            await deps.card.void(void_request_id(visit_id, attempt), hold_id, f"close refused: {reason}")
        except DomainError as exc:  # an unreleased hold expires at card on its own
            log.warning("close_void_failed", visit_id=visit_id, reason=exc.reason)
    async with deps.db.write() as session:
        await session.execute(update(visits).where(
            V.visit_id == visit_id, V.status == VisitStatus.CLOSING.value, V.lease_owner == owner)
            .values(status=VisitStatus.OPEN.value, close_step="", hold_id="",
                    authorized_split=None, lease_owner="", lease_until=None))
    log.warning("visit_close_unwound", visit_id=visit_id, reason=reason)


async def recover_closing(deps: Deps) -> int:
    """One recovery pass: finish (or unwind) CLOSING visits whose lease ran out."""
    now = deps.now()
    async with deps.db.read() as session:
        stale = [r.visit_id for r in (await session.execute(
            select(V.visit_id).where(V.status == VisitStatus.CLOSING.value, V.lease_until < now)
            .order_by(V.lease_until).limit(deps.settings.recovery_batch))).all()]
    done = 0
    for visit_id in stale:
        owner = new_owner()
        async with deps.db.write() as session:
            taken = await session.execute(update(visits).where(
                V.visit_id == visit_id, V.status == VisitStatus.CLOSING.value,
                V.lease_until < deps.now()).values(lease_owner=owner, lease_until=deps.lease_until()))
        if taken.rowcount != 1:
            continue
        try:
            await drive(deps, visit_id, owner)
            done += 1
            log.info("visit_close_recovered", visit_id=visit_id)
        except DomainError as exc:
            log.warning("visit_close_recovery_failed", visit_id=visit_id, reason=exc.reason)
    return done
