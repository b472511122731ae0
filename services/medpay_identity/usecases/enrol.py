"""EnrollPerson: a person, their consent and a reference face (kept as a template only)."""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.identity.v1 import identity_pb2
from medpay_identity.adapters.audit import AuditRecord
from medpay_identity.usecases.context import IdentityContext, timestamp
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id
from medpay_kit.personal import normalise_id_number

log = structlog.get_logger()

MAX_NAME = 64
MAX_CONSENT_REF = 64
CLOCK_SKEW = timedelta(minutes=5)


async def enrol_person(ctx: IdentityContext, caller: Caller,
                       request: identity_pb2.EnrollPersonRequest) -> identity_pb2.EnrollPersonResponse:
    check_request_id(request.request_id)
    if not request.consent.given:
        raise DomainError("CONSENT_REQUIRED", "separate consent to face processing is required",
                          field="consent")
    consent_ref = request.consent.consent_ref.strip()
    if not consent_ref or len(consent_ref) > MAX_CONSENT_REF or not consent_ref.isprintable():
        raise DomainError("CONSENT_REQUIRED", "the consent record reference is required "
                          f"(1..{MAX_CONSENT_REF} characters)", field="consent.consent_ref")
    id_number = normalise_id_number(request.id_number, today=ctx.clock.today())
    name = request.name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise DomainError("INVALID_ARGUMENT", f"name is required (1..{MAX_NAME} characters)",
                          field="name")
    _check_image(ctx, request.reference_photo, "reference_photo")

    async with ctx.db.read() as session:  # a retry replays without running the engine again
        earlier = await ctx.idempotency.recall(session, caller.key, "EnrollPerson", request.request_id,
                                               request, identity_pb2.EnrollPersonResponse)
    if earlier is not None:
        return earlier
    face = await ctx.faces.analyse(request.reference_photo)

    async def work(session: AsyncSession) -> identity_pb2.EnrollPersonResponse:
        now = ctx.clock.now()
        consent_at = (request.consent.given_at.ToDatetime(tzinfo=UTC)
                      if request.consent.HasField("given_at") else now)
        if consent_at > now + CLOCK_SKEW:
            raise DomainError("INVALID_ARGUMENT", "the consent cannot be given in the future",
                              field="consent.given_at")
        person_id = await ctx.persons.find_id(session, id_number)
        if person_id is None:
            person_id = f"per_{secrets.token_hex(16)}"
            await ctx.persons.add(session, person_id, id_number, name, consent_ref, consent_at, now)
        else:
            await ctx.persons.update(session, person_id, name, consent_ref, consent_at, now)
        replaced = await ctx.persons.put_template(session, person_id, face.embedding, now)
        await ctx.audit.record(session, AuditRecord(
            "ENROLLED", caller.principal, now, person_id=person_id,
            detail="reference face replaced" if replaced else "first enrolment"))
        log.info("person_enrolled", person_id=person_id, replaced=replaced)
        return identity_pb2.EnrollPersonResponse(person_id=person_id, enrolled_at=timestamp(now),
                                                 replaced=replaced)

    return await ctx.idempotency.run(ctx.db, caller.key, "EnrollPerson", request,
                                     identity_pb2.EnrollPersonResponse, work)


def _check_image(ctx: IdentityContext, image: bytes, field: str) -> None:
    if not image:
        raise DomainError("IMAGE_INVALID", "the image is empty", field=field)
    if len(image) > ctx.limits.max_image_bytes:
        raise DomainError("IMAGE_TOO_LARGE", f"the image is {len(image)} bytes; the limit is "
                          f"{ctx.limits.max_image_bytes}", field=field,
                          maxBytes=ctx.limits.max_image_bytes)
