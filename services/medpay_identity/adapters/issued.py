"""Assertions identity has issued, and their single use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import assertions
from medpay_kit.assertions import AssertionClaims


@dataclass(frozen=True, slots=True)
class IssuedState:
    consumed_at: datetime | None
    consumed_by: str | None


class IssuedAssertions:
    async def add(self, session: AsyncSession, claims: AssertionClaims, key_id: str,
                  issued_at: datetime, expires_at: datetime) -> None:
        await session.execute(assertions.insert().values(
            assertion_id=claims.jti, person_id=claims.sub, purpose=claims.purpose,
            audience=claims.aud, device_id=claims.device_id, method=claims.method, key_id=key_id,
            issued_at=issued_at, expires_at=expires_at))

    async def state(self, session: AsyncSession, assertion_id: str) -> IssuedState | None:
        row = (await session.execute(
            select(assertions.c.consumed_at, assertions.c.consumed_by)
            .where(assertions.c.assertion_id == assertion_id))).first()
        return IssuedState(row.consumed_at, row.consumed_by) if row else None

    async def consume(self, session: AsyncSession, assertion_id: str, by: str, now: datetime) -> bool:
        """Mark it used; False when it was used already (guarded, so only one consumer wins)."""
        done = await session.execute(
            update(assertions)
            .where(assertions.c.assertion_id == assertion_id, assertions.c.consumed_at.is_(None))
            .values(consumed_at=now, consumed_by=by))
        return bool(done.rowcount)
