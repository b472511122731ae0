"""Issuing identity assertions, and verifying (consuming) them for a service."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.identity.v1 import identity_pb2
from medpay_identity.adapters.audit import AuditRecord
from medpay_identity.usecases.context import IdentityContext, timestamp
from medpay_identity.usecases.convert import method_to_proto, purpose_from_proto, purpose_to_proto
from medpay_kit.access import refuse_subject
from medpay_kit.assertions import AssertionClaims, read_assertion, sign_assertion
from medpay_kit.auth import Caller, CallerKind
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id

log = structlog.get_logger()


async def issue(ctx: IdentityContext, session: AsyncSession, *, person_id: str, purpose: str,
                audience: str, device_id: str, method: str, actor: str,
                now: datetime) -> tuple[str, datetime]:
    """Sign a new assertion with the active key, record and audit it; ``(token, expires_at)``."""
    key_id, key = await ctx.keys.active(session)
    iat = int(now.timestamp())
    claims = AssertionClaims(sub=person_id, aud=audience, purpose=purpose, device_id=device_id,
                             jti=f"asr_{secrets.token_hex(16)}", method=method, iat=iat,
                             exp=iat + ctx.limits.assertion_ttl_s)
    token = sign_assertion(claims, key_id, key)
    expires_at = datetime.fromtimestamp(claims.exp, UTC)
    await ctx.issued.add(session, claims, key_id, now, expires_at)
    await ctx.audit.record(session, AuditRecord(
        "ASSERTION_ISSUED", actor, now, person_id=person_id, purpose=purpose, device_id=device_id,
        detail=f"{method} for {audience}, id {claims.jti}, key {key_id}"))
    log.info("assertion_issued", assertion_id=claims.jti, person_id=person_id, method=method,
             purpose=purpose, audience=audience, key_id=key_id)
    return token, expires_at


def addressed_to_caller(caller: Caller, audience: str) -> str:
    """Subject rule of VerifyAssertion: a service verifies only assertions addressed to it."""
    if caller.kind is not CallerKind.SERVICE or audience != caller.principal:
        raise refuse_subject("addressed_to_caller",
                             "a service verifies only assertions addressed to it")
    return audience


async def verify_assertion(ctx: IdentityContext, caller: Caller, request: identity_pb2.VerifyAssertionRequest,
                           ) -> identity_pb2.VerifyAssertionResponse:
    """Signature, expiry, purpose, audience; with ``consume`` also single use, by request id."""
    purpose = purpose_from_proto(request.expected_purpose).value
    audience = addressed_to_caller(caller, request.expected_audience)
    if request.consume:
        check_request_id(request.request_id)
    verified: list[AssertionClaims] = []

    async def work(session: AsyncSession) -> identity_pb2.VerifyAssertionResponse:
        now = ctx.clock.now()
        keys = await ctx.keys.public_keys(session, now)
        claims = read_assertion(request.assertion, keys, now=now, purpose=purpose, audience=audience)
        verified.append(claims)
        state = await ctx.issued.state(session, claims.jti)
        if state is None:
            raise DomainError("ASSERTION_INVALID", "the assertion was not issued here")
        if state.consumed_at is not None or (
                request.consume and not await ctx.issued.consume(session, claims.jti, caller.principal, now)):
            raise DomainError("ASSERTION_USED", "the assertion was already used")
        await ctx.audit.record(session, _verified(claims, caller, now, consumed=request.consume))
        log.info("assertion_verified", assertion_id=claims.jti, consumed=request.consume,
                 by=caller.principal)
        return identity_pb2.VerifyAssertionResponse(
            person_id=claims.sub, purpose=purpose_to_proto(claims.purpose), device_id=claims.device_id,
            assertion_id=claims.jti, expires_at=timestamp(claims.expires_at),
            method=method_to_proto(claims.method))

    try:
        if not request.consume:
            async with ctx.db.write() as session:
                return await work(session)
        return await ctx.idempotency.run(ctx.db, caller.key, "VerifyAssertion", request,
                                         identity_pb2.VerifyAssertionResponse, work)
    except DomainError as err:
        if err.reason.startswith("ASSERTION_"):
            event = _refused(verified[-1] if verified else None, caller, ctx.clock.now(), purpose,
                             err.reason)
            async with ctx.db.write() as session:
                await ctx.audit.record(session, event)
        raise


def _verified(claims: AssertionClaims, caller: Caller, now: datetime, *, consumed: bool) -> AuditRecord:
    return AuditRecord("ASSERTION_VERIFIED", caller.principal, now, person_id=claims.sub,
                       purpose=claims.purpose, device_id=claims.device_id,
                       detail=f"{'consumed' if consumed else 'checked'} id {claims.jti}")


def _refused(claims: AssertionClaims | None, caller: Caller, now: datetime, purpose: str,
             reason: str) -> AuditRecord:
    """A refused verification; the person is named only when the signature verified."""
    if claims is None:
        return AuditRecord("ASSERTION_VERIFIED", caller.principal, now, purpose=purpose,
                           succeeded=False, reason=reason, detail="not verified")
    return AuditRecord("ASSERTION_VERIFIED", caller.principal, now, person_id=claims.sub,
                       purpose=claims.purpose, device_id=claims.device_id, succeeded=False,
                       reason=reason, detail=f"refused id {claims.jti}")
