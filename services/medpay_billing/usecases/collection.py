"""The collection pass (every ``collection_interval_s``): auto-debit, overdue, blacklist.

In this order, on the business date of ``runtime.clock``:
1. charges whose reply was lost are looked up at the channel and recorded;
2. at and after the due date, bills of agreements with auto-debit (where the hospital
   allows it) are charged once per business day with the agreement's payer reference —
   a decline leaves the bill DUE;
3. the day after the due date an unpaid bill is OVERDUE and its agreement SUSPENDED;
4. ``blacklist_after_overdue_days`` after the due date the agreement is BLACKLISTED.
Each bill is handled in its own transaction; each change emits its event.
"""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy import select, update

from medpay_billing.adapters import credit, events
from medpay_billing.adapters.tables import agreements, bills, hospitals
from medpay_billing.domain.agreement import AgreementStatus, after_blacklist, after_overdue
from medpay_billing.domain.bill import BillStatus, status_after_overdue
from medpay_billing.domain.dates import should_blacklist
from medpay_billing.usecases import payments
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.scope import agreement_row

log = structlog.get_logger()
B, A, H = bills.c, agreements.c, hospitals.c


async def collect(deps: Deps) -> None:
    today = deps.today()
    await payments.resolve_stale(deps)
    await _auto_debit(deps, today)
    await _mark_overdue(deps, today)
    await _blacklist(deps, today)


async def _auto_debit(deps: Deps, today: date) -> None:
    async with deps.db.read() as session:
        rows = (await session.execute(
            select(bills, A.payer_reference).join(agreements, A.agreement_id == B.agreement_id)
            .join(hospitals, H.institution_code == B.institution_code)
            .where(B.self_pay_due_fen > 0, B.paying_reference.is_(None),
                   B.due_date <= today.isoformat(), B.last_auto_debit_on != today.isoformat(),
                   A.auto_debit.is_(True), H.auto_debit.is_(True), A.payer_reference != "")
            .limit(deps.settings.recovery_batch))).all()
    for row in rows:
        reference = await payments.claim(deps, row, auto_debit_on=today.isoformat())
        if reference is None:
            continue
        txn = await payments.charge(deps, row.bill_id, reference, row.payer_reference)
        log.info("bill_auto_debit", bill_id=row.bill_id,
                 outcome=txn.status.value if txn else "TIMEOUT")


async def _mark_overdue(deps: Deps, today: date) -> None:
    async with deps.db.read() as session:
        rows = (await session.execute(select(bills).where(
            B.self_pay_due_fen > 0, B.overdue.is_(False), B.due_date < today.isoformat())
            .limit(deps.settings.recovery_batch))).all()
    for bill in rows:
        now = deps.now()
        async with deps.db.write() as session:
            moved = await session.execute(update(bills).where(
                B.bill_id == bill.bill_id, B.overdue.is_(False), B.self_pay_due_fen > 0).values(
                overdue=True, status=status_after_overdue(BillStatus(bill.status)).value))
            if moved.rowcount != 1:
                continue
            # lock order as everywhere: bill, agreement, then the hospital's event counter
            agreement = await agreement_row(session, bill.agreement_id)
            new = after_overdue(AgreementStatus(agreement.status))
            suspended = await credit.set_status(session, agreement.agreement_id, agreement.status,
                                                new.value, now)
            await events.append(session, bill.institution_code, "OVERDUE", now,
                                visit_id=bill.visit_id, bill_id=bill.bill_id,
                                agreement_id=bill.agreement_id)
            if suspended:
                await events.append(session, bill.institution_code, "AGREEMENT_SUSPENDED", now,
                                    agreement_id=agreement.agreement_id)
        deps.bell.ring()
        log.info("bill_overdue", bill_id=bill.bill_id, agreement_id=bill.agreement_id)


async def _blacklist(deps: Deps, today: date) -> None:
    async with deps.db.read() as session:
        rows = (await session.execute(
            select(B.bill_id, B.due_date, B.agreement_id, B.institution_code,
                   H.blacklist_after_overdue_days)
            .join(agreements, A.agreement_id == B.agreement_id)
            .join(hospitals, H.institution_code == B.institution_code)
            .where(B.overdue.is_(True), B.self_pay_due_fen > 0,
                   A.status.in_((AgreementStatus.ACTIVE.value, AgreementStatus.SUSPENDED.value)),
                   B.due_date < today.isoformat())
            .limit(deps.settings.recovery_batch))).all()
    for row in rows:
        if not should_blacklist(date.fromisoformat(row.due_date), today,
                                row.blacklist_after_overdue_days):
            continue
        now = deps.now()
        async with deps.db.write() as session:
            agreement = await agreement_row(session, row.agreement_id)
            new = after_blacklist(AgreementStatus(agreement.status))
            if not await credit.set_status(session, row.agreement_id, agreement.status,
                                           new.value, now):
                continue
            await events.append(session, row.institution_code, "AGREEMENT_BLACKLISTED", now,
                                agreement_id=row.agreement_id)
        deps.bell.ring()
        log.info("agreement_blacklisted", agreement_id=row.agreement_id)
