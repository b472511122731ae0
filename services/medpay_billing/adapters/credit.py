"""Moving an agreement's used credit and status (never commits).

A delta that takes credit is applied only while it fits under the limit (a guarded
UPDATE, correct under concurrent visits of the same person); a delta that gives credit
back, or that replaces an estimate by the settled amount, always applies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_billing.adapters.tables import agreements, bills

A = agreements.c


async def take_within_limit(session: AsyncSession, agreement_id: str, delta: int,
                            at: datetime) -> bool:
    query = update(agreements).where(A.agreement_id == agreement_id)
    if delta > 0:
        query = query.where(A.used_fen + delta <= A.limit_fen)
    result = await session.execute(query.values(used_fen=A.used_fen + delta, updated_at=at))
    return result.rowcount == 1


async def shift(session: AsyncSession, agreement_id: str, delta: int, at: datetime) -> None:
    await session.execute(update(agreements).where(A.agreement_id == agreement_id)
                          .values(used_fen=A.used_fen + delta, updated_at=at))


async def set_status(session: AsyncSession, agreement_id: str, old: str, new: str,
                     at: datetime) -> bool:
    """Move the status from ``old`` to ``new``; False when someone moved it first."""
    if old == new:
        return False
    result = await session.execute(update(agreements).where(
        A.agreement_id == agreement_id, A.status == old).values(status=new, updated_at=at))
    return result.rowcount == 1


async def overdue_bills(session: AsyncSession, agreement_id: str) -> int:
    return (await session.execute(select(func.count()).select_from(bills).where(
        bills.c.agreement_id == agreement_id, bills.c.overdue.is_(True),
        bills.c.self_pay_due_fen > 0))).scalar_one()
