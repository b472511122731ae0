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
            state=SessionState(row.state))

    async def use(self, session: AsyncSession, session_id: str, outcome: str, now: datetime) -> bool:
        """Mark an open session used; False when another completion got there first."""
        done = await session.execute(
            update(face_sessions)
            .where(face_sessions.c.session_id == session_id,
                   face_sessions.c.state == SessionState.OPEN.value)
            .values(state=SessionState.USED.value, outcome=outcome, completed_at=now))
        return bool(done.rowcount)
