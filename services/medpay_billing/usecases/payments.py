"""Collecting a bill's self-pay part through the payment channel (app or auto-debit).

One charge at a time per bill: ``paying_reference`` is claimed by a guarded UPDATE before
the channel is called and cleared when the outcome is recorded, so PayBill and auto-debit
never both charge. The channel reference is ``<bill id>:<attempt>``. A charge whose reply
was lost stays claimed; the collection pass queries the channel once the claim is older
than the lease and records what really happened (never assumes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_billing.adapters import credit, events
from medpay_billing.adapters.tables import bills
from medpay_billing.domain.agreement import AgreementStatus, after_settled
from medpay_billing.domain.bill import BillStatus, require_payable, status_after_payment
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.scope import agreement_row
from medpay_kit.errors import DomainError
from medpay_kit.payment_channel import ChannelStatus, ChannelTimeout, ChannelTransaction

log = structlog.get_logger()
B = bills.c
OnPaid = Callable[[AsyncSession], Awaitable[None]]


async def _bill(deps: Deps, bill_id: str) -> Row:
    async with deps.db.read() as session:
        return (await session.execute(select(bills).where(B.bill_id == bill_id))).one()


async def claim(deps: Deps, bill: Row, *, auto_debit_on: str = "") -> str | None:
    """Claim the bill for one charge; the channel reference, or None when someone else holds it."""
    require_payable(BillStatus(bill.status), bill.self_pay_due_fen)
    reference = f"{bill.bill_id}:{bill.payment_attempts + 1}"
    values: dict[str, object] = {"paying_reference": reference,
                                 "paying_amount_fen": bill.self_pay_due_fen,
                                 "paying_since": deps.now(),
                                 "payment_attempts": bill.payment_attempts + 1}
    if auto_debit_on:
        values["last_auto_debit_on"] = auto_debit_on
    async with deps.db.write() as session:
        result = await session.execute(update(bills).where(
            B.bill_id == bill.bill_id, B.paying_reference.is_(None),
            B.payment_attempts == bill.payment_attempts,
            B.self_pay_due_fen == bill.self_pay_due_fen).values(**values))
    return reference if result.rowcount == 1 else None


async def charge(deps: Deps, bill_id: str, reference: str, payer: str,
                 reply: OnPaid | None = None) -> ChannelTransaction | None:
    """Charge a claimed bill and record the outcome; None when the reply was lost."""
    bill = await _bill(deps, bill_id)
    try:
        txn = await deps.channel.charge(reference, payer, bill.paying_amount_fen)
    except ChannelTimeout:
        log.warning("bill_charge_timed_out", bill_id=bill_id)
        return None
    await record(deps, bill_id, reference, txn, reply)
    return txn


async def record(deps: Deps, bill_id: str, reference: str, txn: ChannelTransaction | None,
                 reply: OnPaid | None = None) -> None:
    """Record a channel outcome for the claimed ``reference`` (None: it never happened).

    ``reply`` runs in the same transaction once the bill is paid (PayBill stores its reply).
    """
    now = deps.now()
    async with deps.db.write() as session:
        bill = (await session.execute(select(bills).where(
            B.bill_id == bill_id, B.paying_reference == reference))).first()
        if bill is None:
            return
        if txn is None or txn.status is not ChannelStatus.CHARGED:
            await session.execute(update(bills).where(B.bill_id == bill_id).values(
                paying_reference=None, paying_amount_fen=0, paying_since=None))
            log.info("bill_charge_declined", bill_id=bill_id, reference=reference)
            return
        await session.execute(update(bills).where(B.bill_id == bill_id).values(
            status=status_after_payment(BillStatus(bill.status)).value,
            self_pay_due_fen=bill.self_pay_due_fen - txn.amount_fen, paid_at=now,
            channel_reference=reference, channel_transaction_id=txn.transaction_id,
            paying_reference=None, paying_amount_fen=0, paying_since=None))
        await credit.shift(session, bill.agreement_id, -txn.amount_fen, now)
        await events.append(session, bill.institution_code, "PAID", now, visit_id=bill.visit_id,
                            bill_id=bill_id, agreement_id=bill.agreement_id)
        await lift_suspension(session, bill.agreement_id, now)
        if reply is not None:
            await reply(session)
    deps.bell.ring()
    log.info("bill_paid", bill_id=bill_id, amount_fen=txn.amount_fen)


async def lift_suspension(session, agreement_id: str, now) -> None:  # type: ignore[no-untyped-def]
    """SUSPENDED → ACTIVE once no overdue bill is left (BLACKLISTED stays)."""
    agreement = await agreement_row(session, agreement_id)
    left = await credit.overdue_bills(session, agreement_id)
    new = after_settled(AgreementStatus(agreement.status), left)
    if await credit.set_status(session, agreement_id, agreement.status, new.value, now):
        log.info("agreement_reactivated", agreement_id=agreement_id)


async def resolve_stale(deps: Deps) -> None:
    """Find out what happened to charges whose reply never came (older than the lease)."""
    before = deps.now() - timedelta(seconds=deps.settings.lease_s)
    async with deps.db.read() as session:
        rows = (await session.execute(select(B.bill_id, B.paying_reference).where(
            B.paying_reference.is_not(None), B.paying_since < before)
            .limit(deps.settings.recovery_batch))).all()
    for row in rows:
        txn = await deps.channel.query(row.paying_reference)
        await record(deps, row.bill_id, row.paying_reference, txn)


def channel_refusal(txn: ChannelTransaction | None) -> DomainError | None:
    if txn is None:
        return DomainError("OUTCOME_UNKNOWN", "the payment channel did not answer; the charge "
                           "is checked with it shortly: retry with the same request_id or "
                           "ask GetBill")
    if txn.status is not ChannelStatus.CHARGED:
        return DomainError("CHANNEL_DECLINED", "the payment channel declined the charge")
    return None
