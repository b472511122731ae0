"""RefundVisit: give back a closed visit, whole or by HIS lines.

Intent first (a PENDING refund row, leased), then three steps, each repeatable:
1. ``card.Refund`` (ALL parts; request id from the refund id): fund and account parts go
   back to the person. In the same transaction as its outcome, the cash part still owed is
   written off the bill and the agreement's used credit (a bill with a payment in flight
   waits for it);
2. the cash part already paid goes back through the channel (reference from the refund id);
3. the refund completes: bill and visit PARTIALLY_REFUNDED or REFUNDED, a negative payout
   row for the hospital, a REFUNDED event.
A crash anywhere leaves the row PENDING; the recovery pass repeats the missing steps.
"""

from __future__ import annotations

import json

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from medpay.billing.v1 import billing_pb2 as pb
from medpay.common.v1 import split_pb2
from medpay_billing.adapters import credit, events
from medpay_billing.adapters.rows import new_id, new_owner
from medpay_billing.adapters.tables import bills, charge_lines, payouts, refunds, visits
from medpay_billing.domain.bill import split_cash_refund, status_after_refund
from medpay_billing.domain.dates import business_day
from medpay_billing.domain.visit import VisitStatus, require_refundable
from medpay_billing.usecases.bills import bill_message
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.payments import lift_suspension
from medpay_billing.usecases.scope import live_lines, visit_for
from medpay_kit.auth import Caller, current_caller
from medpay_kit.detach import run_to_end
from medpay_kit.errors import OUTCOME_UNKNOWN_REASONS, DomainError, outcome_unknown_on_failure

log = structlog.get_logger()
R, B, V, L = refunds.c, bills.c, visits.c, charge_lines.c
RETRYABLE = OUTCOME_UNKNOWN_REASONS


def _pick_lines(lines, wanted: list[str]) -> tuple[list[str], list[int]]:  # type: ignore[no-untyped-def]
    if len(set(wanted)) != len(wanted):
        raise DomainError("INVALID_ARGUMENT", "his_line_ids must not repeat", field="his_line_ids")
    by_id = {r.his_line_id: r for r in lines}
    if not wanted:
        left = [r for r in lines if not r.refunded]
        if not left:
            raise DomainError("ALREADY_REFUNDED", "every line was already refunded")
        return [r.his_line_id for r in left], []
    for his_line_id in wanted:
        row = by_id.get(his_line_id)
        if row is None:
            raise DomainError("CHARGE_NOT_FOUND", "no charged line with that HIS line id on this visit",
                              hisLineId=his_line_id[:64])
        if row.refunded:
            raise DomainError("ALREADY_REFUNDED", "the line was already refunded",
                              hisLineId=his_line_id)
    return wanted, sorted(by_id[h].line_no for h in wanted)


async def refund_visit(deps: Deps, request: pb.RefundVisitRequest) -> pb.RefundVisitResponse:
    """A twin finds the first's refund row (by request key) and answers its reply."""
    caller = current_caller()
    return await deps.first(caller, "RefundVisit", request, pb.RefundVisitResponse,
                            lambda: _refund_visit(deps, caller, request))


async def _pending(deps: Deps, key: str):  # type: ignore[no-untyped-def]
    async with deps.db.read() as session:
        return (await session.execute(select(refunds).where(R.request_key == key))).first()


async def _refund_visit(deps: Deps, caller: Caller,
                        request: pb.RefundVisitRequest) -> pb.RefundVisitResponse:
    key = f"{caller.scope or caller.principal}:{request.request_id}"
    async with deps.db.read() as session:
        visit = await visit_for(session, caller, request.visit_id)
        pending = (await session.execute(select(refunds).where(R.request_key == key))).first()
        lines = await live_lines(session, visit.visit_id)
    owner = new_owner()

    async def claim_and_drive() -> str:  # to the end even if the caller goes away (kit.detach)
        found, refund_id = pending, new_id("RF", deps.now())
        if found is None:
            try:
                require_refundable(VisitStatus(visit.status))
                if not visit.bill_id:
                    raise DomainError("FAILED_PRECONDITION", "nothing was charged on this visit")
                his_ids, line_nos = _pick_lines(lines, list(request.his_line_ids))
                async with deps.db.write() as session:
                    await session.execute(refunds.insert().values(
                        refund_id=refund_id, visit_id=visit.visit_id, bill_id=visit.bill_id,
                        request_key=key, his_line_ids=json.dumps(his_ids),
                        line_nos=json.dumps(line_nos), status="PENDING", step="",
                        written_off_fen=0, returned_fen=0, lease_owner=owner,
                        lease_until=deps.lease_until(), created_at=deps.now()))
            except (DomainError, IntegrityError):  # refused, unless by a twin's own refund
                found = await _pending(deps, key)
                if found is None:
                    raise
        if found is not None:
            refund_id = found.refund_id
            if found.status == "PENDING" and not await _take(deps, refund_id, owner,
                                                             expired_only=False):
                raise DomainError("REQUEST_IN_PROGRESS",
                                  "this refund is being made; ask again shortly")
        # the intent exists: money may move from here on, and recovery ends what is left
        with outcome_unknown_on_failure("the outcome is not known yet; retry with the same "
                                        "request_id or ask GetBill", refundId=refund_id):
            await drive_refund(deps, refund_id, owner)
        return refund_id

    refund_id = await run_to_end(claim_and_drive())
    with outcome_unknown_on_failure("the outcome is not known yet; retry with the same "
                                    "request_id or ask GetBill", refundId=refund_id):
        async with deps.db.read() as session:
            row = (await session.execute(select(refunds).where(R.refund_id == refund_id))).one()
        if row.status == "FAILED":
            raise DomainError("FAILED_PRECONDITION", "the issuer refused this refund; "
                              "nothing was refunded", refundId=refund_id)
        if row.status != "COMPLETED":
            raise DomainError("REQUEST_IN_PROGRESS",
                              "the refund is waiting for a payment in flight")
        response = pb.RefundVisitResponse(refund_id=refund_id,
                                          refunded=split_pb2.ClaimSplit.FromString(row.refunded),
                                          bill=await bill_message(deps, row.bill_id))
        return await deps.remember(caller, "RefundVisit", request, response)


async def _take(deps: Deps, refund_id: str, owner: str, *, expired_only: bool) -> bool:
    async with deps.db.write() as session:
        query = update(refunds).where(R.refund_id == refund_id, R.status == "PENDING")
        if expired_only:
            query = query.where(R.lease_until < deps.now())
        result = await session.execute(query.values(lease_owner=owner, lease_until=deps.lease_until()))
        return result.rowcount == 1


async def drive_refund(deps: Deps, refund_id: str, owner: str) -> None:
    async with deps.db.read() as session:
        row = (await session.execute(select(refunds).where(R.refund_id == refund_id))).one()
        bill = (await session.execute(select(bills).where(B.bill_id == row.bill_id))).one()
    if row.status != "PENDING" or row.lease_owner != owner:
        return
    if row.step != "ISSUER_DONE":
        try:
            reply = await deps.card.refund(f"billing:{refund_id}:refund", bill.hold_id, "ALL",
                                           json.loads(row.line_nos))
        except DomainError as exc:
            if exc.reason not in RETRYABLE:
                async with deps.db.write() as session:
                    await session.execute(update(refunds).where(
                        R.refund_id == refund_id, R.lease_owner == owner).values(status="FAILED"))
            raise
        if not await _issuer_done(deps, row, owner, reply.refunded):
            return
    async with deps.db.read() as session:
        row = (await session.execute(select(refunds).where(R.refund_id == refund_id))).one()
    if row.returned_fen > 0:
        await deps.channel.refund(f"{refund_id}:cash", bill.channel_reference, row.returned_fen)
    await _complete(deps, row, owner)


class _NotNow(Exception):
    """The step cannot be recorded now (lease lost, or a payment of the bill in flight)."""


async def _issuer_done(deps: Deps, row, owner: str, refunded: split_pb2.ClaimSplit) -> bool:  # type: ignore[no-untyped-def]
    now = deps.now()
    try:
        async with deps.db.write() as session:
            await _record_issuer_refund(session, row, owner, refunded, now, deps)
    except _NotNow:
        return False
    return True


async def _record_issuer_refund(session, row, owner: str, refunded, now, deps: Deps) -> None:  # type: ignore[no-untyped-def]
    bill = (await session.execute(select(bills).where(B.bill_id == row.bill_id))).one()
    written_off, returned = split_cash_refund(refunded.cash_pay.amount_fen, bill.self_pay_due_fen)
    fenced = await session.execute(update(refunds).where(
        R.refund_id == row.refund_id, R.status == "PENDING", R.lease_owner == owner).values(
        step="ISSUER_DONE", refunded=refunded.SerializeToString(), written_off_fen=written_off,
        returned_fen=returned, lease_until=deps.lease_until()))
    if fenced.rowcount != 1:
        raise _NotNow
    if written_off:
        # guarded on what was read: a payment claimed meanwhile (it charges the old amount)
        # makes this step wait; recovery repeats it once that payment is recorded
        moved = await session.execute(update(bills).where(
            B.bill_id == bill.bill_id, B.paying_reference.is_(None),
            B.self_pay_due_fen == bill.self_pay_due_fen).values(
            self_pay_due_fen=bill.self_pay_due_fen - written_off))
        if moved.rowcount != 1:
            raise _NotNow
        await credit.shift(session, bill.agreement_id, -written_off, now)
        await lift_suspension(session, bill.agreement_id, now)
    line_ids = json.loads(row.his_line_ids)
    await session.execute(update(charge_lines).where(
        L.visit_id == row.visit_id, L.his_line_id.in_(line_ids)).values(refunded=True))


async def _complete(deps: Deps, row, owner: str) -> None:  # type: ignore[no-untyped-def]
    now = deps.now()
    refunded = split_pb2.ClaimSplit.FromString(row.refunded)
    async with deps.db.write() as session:
        fenced = await session.execute(update(refunds).where(
            R.refund_id == row.refund_id, R.status == "PENDING", R.lease_owner == owner).values(
            status="COMPLETED", completed_at=now, lease_owner="", lease_until=None))
        if fenced.rowcount != 1:
            return
        left = [r for r in await live_lines(session, row.visit_id) if not r.refunded]
        status = status_after_refund(not left)
        bill = (await session.execute(select(bills).where(B.bill_id == row.bill_id))).one()
        await session.execute(update(bills).where(B.bill_id == row.bill_id).values(status=status.value))
        await session.execute(update(visits).where(V.visit_id == row.visit_id).values(status=status.value))
        await session.execute(payouts.insert().values(
            payout_id=new_id("PO", now), institution_code=bill.institution_code,
            visit_id=row.visit_id, bill_id=row.bill_id, refund_id=row.refund_id,
            total_fen=-refunded.total.amount_fen, fund_fen=-refunded.fund_pay.amount_fen,
            account_fen=-refunded.account_pay.amount_fen,
            credit_cash_fen=-refunded.cash_pay.amount_fen,
            business_date=business_day(now).isoformat(), created_at=now))
        await events.append(session, bill.institution_code, "REFUNDED", now, visit_id=row.visit_id,
                            bill_id=row.bill_id, agreement_id=bill.agreement_id)
    deps.bell.ring()
    log.info("visit_refunded", refund_id=row.refund_id, visit_id=row.visit_id,
             cash_written_off_fen=row.written_off_fen, cash_returned_fen=row.returned_fen)


async def recover_refunds(deps: Deps) -> None:
    async with deps.db.read() as session:
        stale = [r.refund_id for r in (await session.execute(select(R.refund_id).where(
            R.status == "PENDING", R.lease_until < deps.now())
            .limit(deps.settings.recovery_batch))).all()]
    for refund_id in stale:
        owner = new_owner()
        if not await _take(deps, refund_id, owner, expired_only=True):
            continue
        try:
            await drive_refund(deps, refund_id, owner)
        except DomainError as exc:
            log.warning("refund_recovery_failed", refund_id=refund_id, reason=exc.reason)
