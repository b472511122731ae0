"""Credit mandates: a service may settle by card id at a merchant while one is ACTIVE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import credit_mandates as t

ACTIVE, WITHDRAWN = "ACTIVE", "WITHDRAWN"


def live_key(caller: str, card_id: str, merchant_id: str) -> str:
    return f"{caller}|{card_id}|{merchant_id}"


async def active(session: AsyncSession, caller: str, card_id: str,
                 merchant_id: str) -> str | None:
    """The id of the caller's active mandate for (card, merchant), if any."""
    return (await session.execute(select(t.c.mandate_id).where(
        t.c.live_key == live_key(caller, card_id, merchant_id)))).scalar_one_or_none()


async def any_active(session: AsyncSession, caller: str, card_id: str) -> bool:
    """Whether the caller holds an active mandate for the card at any merchant."""
    return (await session.execute(select(t.c.mandate_id).where(
        t.c.caller == caller, t.c.card_id == card_id, t.c.status == ACTIVE).limit(1))).first() \
        is not None


async def assertion_used(session: AsyncSession, assertion_id: str) -> bool:
    return (await session.execute(select(t.c.mandate_id).where(
        t.c.assertion_id == assertion_id))).first() is not None


async def insert(session: AsyncSession, *, mandate_id: str, caller: str, card_id: str,
                 merchant_id: str, assertion_id: str, method: str, agreement_reference: str,
                 now: datetime) -> None:
    await session.execute(t.insert().values(
        mandate_id=mandate_id, caller=caller, card_id=card_id, merchant_id=merchant_id,
        live_key=live_key(caller, card_id, merchant_id), status=ACTIVE,
        assertion_id=assertion_id, assertion_method=method,
        agreement_reference=agreement_reference, created_at=now))


async def created_at(session: AsyncSession, mandate_id: str) -> datetime:
    return (await session.execute(select(t.c.created_at).where(
        t.c.mandate_id == mandate_id))).scalar_one()


async def withdraw(session: AsyncSession, caller: str, card_id: str, merchant_id: str,
                   reason: str, now: datetime) -> bool:
    result = await session.execute(update(t).where(
        t.c.live_key == live_key(caller, card_id, merchant_id)).values(
        live_key=None, status=WITHDRAWN, withdrawn_at=now, withdrawn_reason=reason))
    return result.rowcount == 1  # type: ignore[attr-defined]
