"""Cards and their device credentials (only a hash and a salt are kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import cards as t
from medpay_card.domain.cards import LIVE


@dataclass(frozen=True, slots=True)
class Card:
    card_id: str
    insured_id: str
    status: str
    insurance_type: int
    device_id: str
    credential_hash: str
    credential_salt: bytes
    replaces_card_id: str | None
    status_reason: str
    status_changed_by: str | None
    issued_at: datetime
    status_changed_at: datetime


_GET = select(t).where(t.c.card_id == bindparam("k_card_id"))  # built once: stays compiled


def _card(row: object) -> Card:
    return Card(**{name: getattr(row, name) for name in Card.__slots__})  # type: ignore[attr-defined]


async def get(session: AsyncSession, card_id: str) -> Card | None:
    row = (await session.execute(_GET, {"k_card_id": card_id})).first()
    return _card(row) if row else None


async def live_card_of(session: AsyncSession, insured_id: str) -> Card | None:
    row = (await session.execute(
        select(t).where(t.c.insured_id == insured_id, t.c.status.in_(LIVE)))).first()
    return _card(row) if row else None


async def live_cards_on_device(session: AsyncSession, device_id: str) -> list[Card]:
    rows = await session.execute(
        select(t).where(t.c.device_id == device_id, t.c.status.in_(LIVE)))
    return [_card(row) for row in rows.all()]


async def insert(session: AsyncSession, card: Card) -> None:
    await session.execute(t.insert().values(
        **{name: getattr(card, name) for name in Card.__slots__}))  # type: ignore[attr-defined]


async def set_status(session: AsyncSession, card_id: str, *, expected: str, status: str,
                     reason: str, by: str, now: datetime) -> bool:
    """Guarded status change; False when the card is no longer in ``expected``."""
    result = await session.execute(
        update(t).where(t.c.card_id == card_id, t.c.status == expected)
        .values(status=status, status_reason=reason, status_changed_by=by,
                status_changed_at=now))
    return result.rowcount == 1  # type: ignore[attr-defined]
