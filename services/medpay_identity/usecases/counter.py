"""ConfirmIdentityAtCounter: the non-face way in. An operator checked the ID document."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.identity.v1 import identity_pb2
from medpay_identity.adapters.audit import AuditRecord
from medpay_identity.domain.session import Method
from medpay_identity.usecases.assertions import issue
from medpay_identity.usecases.context import IdentityContext, timestamp
from medpay_identity.usecases.convert import check_audience, check_device_id, purpose_from_proto
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id
from medpay_kit.redact import scrub_text

log = structlog.get_logger()

MAX_NOTE = 200


async def confirm_at_counter(ctx: IdentityContext, caller: Caller,
                             request: identity_pb2.ConfirmIdentityAtCounterRequest,
                             ) -> identity_pb2.ConfirmIdentityAtCounterResponse:
    """Issue a COUNTER assertion; works while face auth is locked out (that is its point)."""
    check_request_id(request.request_id)
    purpose = purpose_from_proto(request.purpose)
    device_id = check_device_id(request.device_id)
    audience = check_audience(request.audience)
    note = request.operator_note.strip()
    if len(note) > MAX_NOTE or not note.isprintable() or scrub_text(note) != note:
        raise DomainError("INVALID_ARGUMENT", f"operator_note must be at most {MAX_NOTE} printable "
                          "characters and hold no personal data", field="operator_note")
    if not request.person_id:
        raise DomainError("INVALID_ARGUMENT", "person_id is required", field="person_id")

    async def work(session: AsyncSession) -> identity_pb2.ConfirmIdentityAtCounterResponse:
        now = ctx.clock.now()
        if not await ctx.persons.exists(session, request.person_id):
            raise DomainError("PERSON_NOT_ENROLLED", "no enrolled person matches")
        await ctx.audit.record(session, AuditRecord(
            "COUNTER_CONFIRMED", caller.principal, now, person_id=request.person_id,
            purpose=purpose.value, device_id=device_id, detail=note or "ID document checked"))
        log.info("identity_confirmed_at_counter", person_id=request.person_id, by=caller.principal)
        token, expires_at = await issue(
            ctx, session, person_id=request.person_id, purpose=purpose.value, audience=audience,
            device_id=device_id, method=Method.COUNTER.value, actor=caller.principal, now=now)
        return identity_pb2.ConfirmIdentityAtCounterResponse(assertion=token,
                                                             expires_at=timestamp(expires_at))

    return await ctx.idempotency.run(ctx.db, caller.key, "ConfirmIdentityAtCounter", request,
                                     identity_pb2.ConfirmIdentityAtCounterResponse, work)
