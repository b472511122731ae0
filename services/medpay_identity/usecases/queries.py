"""Read-only use cases: GetPerson and ListAuditEvents."""

from __future__ import annotations

from medpay.identity.v1 import identity_pb2
from medpay_identity.usecases.context import IdentityContext, timestamp
from medpay_identity.usecases.convert import (
    audit_kind_from_proto,
    audit_kind_to_proto,
    purpose_to_proto,
    reason_to_proto,
)
from medpay_kit.errors import DomainError

DEFAULT_PAGE = 50
MAX_PAGE = 1000


async def get_person(ctx: IdentityContext, person_id: str) -> identity_pb2.GetPersonResponse:
    if not person_id:
        raise DomainError("INVALID_ARGUMENT", "person_id is required", field="person_id")
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        record = await ctx.persons.get(session, person_id)
        if record is None:
            raise DomainError("PERSON_NOT_ENROLLED", "no enrolled person matches")
        lock = await ctx.attempts.person_state(session, person_id, now)
    person = identity_pb2.Person(person_id=record.person_id, masked_name=record.masked_name,
                                 enrolled=record.enrolled_at is not None,
                                 enrolled_at=timestamp(record.enrolled_at))
    if lock.is_locked(now):
        person.locked_until.CopyFrom(timestamp(lock.locked_until))
    return identity_pb2.GetPersonResponse(person=person)


async def list_audit_events(ctx: IdentityContext, request: identity_pb2.ListAuditEventsRequest,
                            ) -> identity_pb2.ListAuditEventsResponse:
    if not 0 <= request.page_size:
        raise DomainError("INVALID_ARGUMENT", "page_size cannot be negative", field="page_size")
    size = min(request.page_size or DEFAULT_PAGE, MAX_PAGE)
    kind = audit_kind_from_proto(request.kind)
    before = _page_token(request.page_token)
    async with ctx.db.read() as session:
        rows = await ctx.audit.page(session, person_id=request.person_id, kind=kind,
                                    before_seq=before, limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return identity_pb2.ListAuditEventsResponse(
        events=[identity_pb2.AuditEvent(
            event_id=r.event_id, kind=audit_kind_to_proto(r.kind), person_id=r.person_id,
            session_id=r.session_id, purpose=purpose_to_proto(r.purpose), device_id=r.device_id,
            succeeded=r.succeeded, reason=reason_to_proto(r.reason), distance=r.distance or 0.0,
            threshold=r.threshold or 0.0, at=timestamp(r.at), actor=r.actor) for r in rows],
        next_page_token=f"s{rows[-1].seq}" if more else "")


def _page_token(token: str) -> int | None:
    if not token:
        return None
    if not (token.startswith("s") and token[1:].isdigit() and len(token) < 20):
        raise DomainError("INVALID_ARGUMENT", "page_token is not one this service issued",
                          field="page_token")
    return int(token[1:])
