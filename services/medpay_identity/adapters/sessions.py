"""Face-auth sessions in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import face_sessions
from medpay_identity.domain.session import (
    FaceSession,
    Purpose,
    SessionState,
    decode_actions,
    encode_actions,
)


class SessionRepository:
    async def add(self, session: AsyncSession, s: FaceSession, now: datetime) -> None:
        await session.execute(face_sessions.insert().values(
            session_id=s.session_id, person_id=s.person_id, purpose=s.purpose.value,
            device_id=s.device_id, audience=s.audience, nonce=s.nonce,
            actions=encode_actions(s.actions), state=s.state.value, created_at=now,
            expires_at=s.expires_at))

    async def get(self, session: AsyncSession, session_id: str) -> FaceSession | None:
        row = (await session.execute(
            select(face_sessions).where(face_sessions.c.session_id == session_id))).first()
        if row is None:
            return None
        return FaceSession(
            session_id=row.session_id, person_id=row.person_id, purpose=Purpose(row.purpose),
            device_id=row.device_id, audience=row.audience, nonce=row.nonce,
            actions=decode_actions(row.actions), expires_at=row.expires_at,
            state=SessionState(row.state), claim_key=row.claim_key, claimed_at=row.claimed_at)

    async def claim(self, session: AsyncSession, seen: FaceSession, claim_key: int,
                    now: datetime) -> bool:
        """Claim an open session as it was ``seen`` (unclaimed, or its claim lapsed); False
        when another completion changed it in between."""
        c = face_sessions.c
        done = await session.execute(
            update(face_sessions)
            .where(c.session_id == seen.session_id, c.state == SessionState.OPEN.value,
                   c.claim_key.is_(None) if seen.claim_key is None else c.claim_key == seen.claim_key,
                   c.claimed_at.is_(None) if seen.claimed_at is None else c.claimed_at == seen.claimed_at)
            .values(claim_key=claim_key, claimed_at=now))
        return bool(done.rowcount)

    async def release(self, session: AsyncSession, session_id: str, claim_key: int) -> None:
        """Let go of a claim that decided nothing (the session stays open)."""
        c = face_sessions.c
        await session.execute(
            update(face_sessions)
            .where(c.session_id == session_id, c.state == SessionState.OPEN.value,
                   c.claim_key == claim_key)
            .values(claim_key=None, claimed_at=None))

    async def use(self, session: AsyncSession, session_id: str, claim_key: int, outcome: str,
                  now: datetime) -> bool:
        """Mark an open session used by the completion holding its claim; False when another
        completion got there first (or took over a lapsed claim)."""
        done = await session.execute(
            update(face_sessions)
            .where(face_sessions.c.session_id == session_id,
                   face_sessions.c.state == SessionState.OPEN.value,
                   face_sessions.c.claim_key == claim_key)
            .values(state=SessionState.USED.value, outcome=outcome, completed_at=now))
        return bool(done.rowcount)
