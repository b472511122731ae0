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
    """Wakes the event streams of this process when an event commits (polling covers the rest).

    Each ring sets the current ``asyncio.Event`` and puts a fresh one in its place, so
    ``ring`` is synchronous and never waits for anything (it used to take an
    ``asyncio.Condition``'s lock: on Python 3.11 a waiter cancelled twice inside
    ``wait_for(cond.wait())`` can leave that lock held for good, and then every commit
    that rings hangs). A waiter only ever awaits an Event, and a cancelled ``Event.wait``
    just drops its own future: nothing shared is held while waiting.
    """

    def __init__(self) -> None:
        self._next = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        """The event the next ring sets; take it before reading, so no ring is missed."""
        return self._next

    def ring(self) -> None:
        rung, self._next = self._next, asyncio.Event()
        rung.set()

    async def wait(self, seconds: float, ticket: asyncio.Event | None = None) -> bool:
        """Until the next ring (or the one ``ticket`` was taken for) or ``seconds``; True if rung."""
        ticket = ticket or self._next
        if ticket.is_set():
            return True
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for runs the wait in a task of
            # its own and can swallow the caller's cancellation (cpython gh-86296)
            async with asyncio.timeout(seconds):
                await ticket.wait()
        except TimeoutError:
            return False
        return True

    async def check(self) -> None:
        """For the health watchdog: a ring returns and wakes its waiter (streams just poll early)."""
        ticket = self.ticket()
        self.ring()
        if not await self.wait(1.0, ticket):
            raise RuntimeError("the event bell did not wake its waiter")
