"""Failed face attempts and lockouts, per device and per person (the rule: domain/lockout.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import assertions, face_failures, lockouts
from medpay_identity.domain.lockout import LockoutPolicy, LockState, strictest

CARD_ISSUE, CARD = "CARD_ISSUE", "card"


def person_subject(person_id: str) -> str:
    return f"person:{person_id}"


def device_subject(device_id: str) -> str:
    return f"device:{device_id}"


class AttemptRepository:
    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy

    async def trusted_device(self, session: AsyncSession, person_id: str) -> str | None:
        """The device bound to the person's card: the one the card service bound at issuance,
        i.e. the device of the person's newest CARD_ISSUE assertion that card consumed."""
        return (await session.execute(
            select(assertions.c.device_id).where(
                assertions.c.person_id == person_id, assertions.c.purpose == CARD_ISSUE,
                assertions.c.consumed_by == CARD)
            .order_by(assertions.c.consumed_at.desc()).limit(1))).scalar_one_or_none()

    async def states(self, session: AsyncSession, person_id: str, device_id: str,
                     now: datetime) -> tuple[LockState, LockState]:
        """The person's state as it applies to this device, and the device's own state."""
        trusted = await self.trusted_device(session, person_id)
        device = await self._state(session, device_subject(device_id), now,
                                   face_failures.c.device_id == device_id)
        if device_id == trusted:  # the person-wide limit never applies to the bound device
            return LockState(self.policy.max_failures, None), device
        return await self._person(session, person_id, trusted, now), device

    async def combined(self, session: AsyncSession, person_id: str, device_id: str,
                       now: datetime) -> LockState:
        return strictest(await self.states(session, person_id, device_id, now))

    async def person_state(self, session: AsyncSession, person_id: str, now: datetime) -> LockState:
        """The person-wide state (what devices other than the bound one face)."""
        return await self._person(session, person_id, await self.trusted_device(session, person_id), now)

    async def _person(self, session: AsyncSession, person_id: str, trusted: str | None,
                      now: datetime) -> LockState:
        counted = face_failures.c.person_id == person_id
        if trusted is not None:
            counted = counted & (face_failures.c.device_id != trusted)
        return await self._state(session, person_subject(person_id), now, counted)

    async def _state(self, session: AsyncSession, subject: str, now: datetime,
                     counted) -> LockState:  # type: ignore[no-untyped-def]
        locked_until = await self._locked_until(session, subject)
        since = self.policy.counting_from(now, locked_until)
        times = (await session.execute(
            select(face_failures.c.at).where(counted, face_failures.c.at > since)
        )).scalars().all()
        return self.policy.assess(times, locked_until, now)

    async def record_failure(self, session: AsyncSession, person_id: str, device_id: str,
                             session_id: str, now: datetime) -> tuple[LockState, LockState]:
        """Count one failure; lock the device and/or the person that reached the limit.

        A person locked by failures from untrusted devices also locks every one of those
        devices: the failures cost whoever made them. Returns the person's state (as it
        applies to this device) and the device's state after the failure.
        """
        trusted = await self.trusted_device(session, person_id)
        person, device = await self.states(session, person_id, device_id, now)
        await session.execute(face_failures.insert().values(
            person_id=person_id, device_id=device_id, session_id=session_id, at=now))
        device = self.policy.after_failure(device, now)
        if device.locked_until is not None:
            await self._lock(session, device_subject(device_id), device.locked_until)
        if device_id == trusted:
            return person, device
        person = self.policy.after_failure(person, now)
        if person.locked_until is not None:
            await self._lock(session, person_subject(person_id), person.locked_until)
            since = self.policy.counting_from(now, None)
            attackers = (await session.execute(
                select(face_failures.c.device_id).distinct().where(
                    face_failures.c.person_id == person_id, face_failures.c.at > since,
                    face_failures.c.device_id != (trusted or "")))).scalars().all()
            for other in attackers:
                await self._lock(session, device_subject(other), person.locked_until)
        return person, device

    async def _locked_until(self, session: AsyncSession, subject: str) -> datetime | None:
        return (await session.execute(
            select(lockouts.c.locked_until).where(lockouts.c.subject == subject)
        )).scalar_one_or_none()

    async def _lock(self, session: AsyncSession, subject: str, until: datetime) -> None:
        done = await session.execute(
            update(lockouts).where(lockouts.c.subject == subject).values(locked_until=until))
        if not done.rowcount:
            await session.execute(lockouts.insert().values(subject=subject, locked_until=until))
