"""The append-only audit trail: who did what, when, with what outcome; no personal data.

Rows are only ever inserted (the migration adds triggers that refuse UPDATE and DELETE).
A row names the person by the opaque person id, never by ID number or name, and keeps the
distance and threshold of face decisions but no embedding or image.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import audit_events
from medpay_kit.redact import scrub_text


@dataclass(frozen=True, slots=True)
class AuditRecord:
    kind: str  # AuditEventKind name without its prefix, e.g. "FACE_DECISION"
    actor: str
    at: datetime
    person_id: str = ""
    session_id: str = ""
    purpose: str = ""
    device_id: str = ""
    succeeded: bool = True
    reason: str = ""  # an ErrorReason name when it failed
    distance: float | None = None
    threshold: float | None = None
    detail: str = ""  # short, machine-made, no personal data


class AuditLog:
    async def record(self, session: AsyncSession, event: AuditRecord) -> str:
        event_id = f"aud_{secrets.token_hex(16)}"
        await session.execute(audit_events.insert().values(
            event_id=event_id, kind=event.kind, actor=event.actor[:64], at=event.at,
            person_id=event.person_id, session_id=event.session_id, purpose=event.purpose,
            device_id=event.device_id, succeeded=event.succeeded, reason=event.reason,
            distance=event.distance, threshold=event.threshold,
            detail=scrub_text(event.detail)[:200]))
        return event_id

    async def page(self, session: AsyncSession, *, person_id: str, kind: str, before_seq: int | None,
                   limit: int) -> list[Row]:
        """Up to ``limit`` events, newest first, older than ``before_seq`` when given."""
        query = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
        if person_id:
            query = query.where(audit_events.c.person_id == person_id)
        if kind:
            query = query.where(audit_events.c.kind == kind)
        if before_seq is not None:
            query = query.where(audit_events.c.seq < before_seq)
        return list((await session.execute(query)).all())
