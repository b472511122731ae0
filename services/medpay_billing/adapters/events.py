"""The hospitals' visit-event feeds (never commits).

Events are numbered per hospital under the hospital row's lock (``last_event_id`` bumped
by an UPDATE that holds the row until commit), so ids are handed out in commit order: a
reader that saw event n never later finds an n' < n appearing. A reader resumes with
``after_event_id`` and sees no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_billing.adapters.tables import events, hospitals

E = events.c


async def append(session: AsyncSession, institution_code: str, kind: str, at: datetime, *,
                 visit_id: str = "", bill_id: str = "", agreement_id: str = "") -> int:
    event_id = (await session.execute(
        update(hospitals).where(hospitals.c.institution_code == institution_code)
        .values(last_event_id=hospitals.c.last_event_id + 1)
        .returning(hospitals.c.last_event_id))).scalar_one()
    await session.execute(events.insert().values(
        institution_code=institution_code, event_id=event_id, kind=kind, visit_id=visit_id,
        bill_id=bill_id, agreement_id=agreement_id, at=at))
    return event_id


async def after(session: AsyncSession, institution_code: str, after_id: int,
                limit: int = 500) -> list[Row]:
    return list((await session.execute(
        select(events).where(E.institution_code == institution_code, E.event_id > after_id)
        .order_by(E.event_id).limit(limit))).all())


class EventBell:
    """Wakes the event streams of this process when an event commits (polling covers the rest)."""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()

    async def ring(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait(self, seconds: float) -> None:
        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait(), seconds)
            except TimeoutError:
                pass
