"""Failed face attempts and lockouts, per person and per device."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import face_failures, lockouts
from medpay_identity.domain.lockout import LockoutPolicy, LockState, strictest


def person_subject(person_id: str) -> str:
    return f"person:{person_id}"


def device_subject(device_id: str) -> str:
    return f"device:{device_id}"


class AttemptRepository:
    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy

    async def states(self, session: AsyncSession, person_id: str, device_id: str,
                     now: datetime) -> tuple[LockState, LockState]:
        """The person's and the device's state at ``now``."""
        person = await self._state(session, face_failures.c.person_id, person_id,
                                   person_subject(person_id), now)
        device = await self._state(session, face_failures.c.device_id, device_id,
                                   device_subject(device_id), now)
        return person, device

    async def combined(self, session: AsyncSession, person_id: str, device_id: str,
                       now: datetime) -> LockState:
        return strictest(await self.states(session, person_id, device_id, now))

    async def person_state(self, session: AsyncSession, person_id: str, now: datetime) -> LockState:
        return await self._state(session, face_failures.c.person_id, person_id,
                                 person_subject(person_id), now)

    async def _state(self, session: AsyncSession, column, value: str, subject: str,  # type: ignore[no-untyped-def]
                     now: datetime) -> LockState:
        locked_until = await self._locked_until(session, subject)
        since = self.policy.counting_from(now, locked_until)
        times = (await session.execute(
            select(face_failures.c.at).where(column == value, face_failures.c.at > since)
        )).scalars().all()
        return self.policy.assess(times, locked_until, now)

    async def record_failure(self, session: AsyncSession, person_id: str, device_id: str,
                             session_id: str, now: datetime) -> tuple[LockState, LockState]:
        """Count one failure; lock the person and/or device that reached the limit.

        Returns the person's and the device's state after it.
        """
        person, device = await self.states(session, person_id, device_id, now)
        await session.execute(face_failures.insert().values(
            person_id=person_id, device_id=device_id, session_id=session_id, at=now))
        after = []
        for subject, before in ((person_subject(person_id), person), (device_subject(device_id), device)):
            state = self.policy.after_failure(before, now)
            if state.locked_until is not None:
                await self._lock(session, subject, state.locked_until)
            after.append(state)
        return after[0], after[1]

    async def _locked_until(self, session: AsyncSession, subject: str) -> datetime | None:
        return (await session.execute(
            select(lockouts.c.locked_until).where(lockouts.c.subject == subject)
        )).scalar_one_or_none()

    async def _lock(self, session: AsyncSession, subject: str, until: datetime) -> None:
        done = await session.execute(
            update(lockouts).where(lockouts.c.subject == subject).values(locked_until=until))
        if not done.rowcount:
            await session.execute(lockouts.insert().values(subject=subject, locked_until=until))
