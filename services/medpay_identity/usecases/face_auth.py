"""StartFaceAuth and CompleteFaceAuth: a challenge, the frames, a decision, an assertion.

The engine runs outside any transaction (it takes ~150 ms a frame); the decision, the
session's use, the failure count, the lockout, the assertion and the audit events are
then written in one transaction with the idempotency key, so a retry replays the
decision and never runs it again. Before the engine runs, the completion claims the
session (``claim_key``, for ``CLAIM_LEASE``): a twin that arrives meanwhile is told
``REQUEST_IN_PROGRESS`` by the claim and waits for the first reply (``first_reply``), so
the frames are analysed and the failure counted once.
"""

from __future__ import annotations

import math
import random
import re
import secrets
import time
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.identity.v1 import identity_pb2
from medpay_identity.adapters.audit import AuditRecord
from medpay_identity.domain.decision import FRAME_REFUSALS, Decision, FrameRefused, decide
from medpay_identity.domain.face import FaceObservation
from medpay_identity.domain.liveness import random_challenge
from medpay_identity.domain.lockout import LockState, strictest
from medpay_identity.domain.session import FaceSession, Method, SessionState
from medpay_identity.usecases.assertions import issue
from medpay_identity.usecases.context import IdentityContext, timestamp
from medpay_identity.usecases.convert import (
    action_to_proto,
    check_audience,
    check_device_id,
    decision_to_proto,
    purpose_from_proto,
)
from medpay_kit.auth import Caller
from medpay_kit.detach import run_to_end
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id, key_lock_id
from medpay_kit.personal import normalise_id_number

log = structlog.get_logger()

_rng = random.SystemRandom()
COMPLETE = "CompleteFaceAuth"
_PERSON_ID = re.compile(r"per_[0-9a-f]{32}")


async def start_face_auth(ctx: IdentityContext, caller: Caller,
                          request: identity_pb2.StartFaceAuthRequest) -> identity_pb2.StartFaceAuthResponse:
    check_request_id(request.request_id)
    purpose = purpose_from_proto(request.purpose)
    device_id = check_device_id(request.device_id)
    audience = check_audience(request.audience)
    subject = request.WhichOneof("subject")
    id_number = (normalise_id_number(request.id_number, today=ctx.clock.today())
                 if subject == "id_number" else None)
    if subject is None or (subject == "person_id" and not _PERSON_ID.fullmatch(request.person_id)):
        raise DomainError("INVALID_ARGUMENT", "person_id or id_number is required", field="subject")

    async def work(session: AsyncSession) -> identity_pb2.StartFaceAuthResponse:
        # Not an enrolment oracle: whoever is named, enrolled or not, gets the same kind of
        # session after the same work. One for nobody enrolled is compared with a stand-in
        # reference (see _decide) and can never succeed; its failures count like any other.
        now = ctx.clock.now()
        found = await ctx.persons.find_id(session, id_number) if id_number is not None else None
        person_id = (request.person_id if id_number is None
                     else found or ctx.persons.stand_in_id(id_number))
        await ctx.persons.template(session, person_id)
        lock = await ctx.attempts.combined(session, person_id, device_id, now)
        lock.refuse_if_locked(now)
        face_session = FaceSession(
            session_id=f"fas_{secrets.token_hex(16)}", person_id=person_id, purpose=purpose,
            device_id=device_id, audience=audience, nonce=secrets.token_urlsafe(24),
            actions=random_challenge(_rng), state=SessionState.OPEN,
            expires_at=now + timedelta(seconds=ctx.limits.session_ttl_s))
        await ctx.sessions.add(session, face_session, now)
        await ctx.audit.record(session, AuditRecord(
            "SESSION_STARTED", caller.principal, now, person_id=person_id,
            session_id=face_session.session_id, purpose=purpose.value, device_id=device_id,
            detail="challenge " + " then ".join(a.value for a in face_session.actions)))
        return identity_pb2.StartFaceAuthResponse(
            session_id=face_session.session_id, nonce=face_session.nonce,
            expires_at=timestamp(face_session.expires_at),
            actions=[action_to_proto(a) for a in face_session.actions],
            frames_expected=face_session.frames_expected, attempts_remaining=lock.remaining)

    return await ctx.idempotency.run(ctx.db, caller.key, "StartFaceAuth", request,
                                     identity_pb2.StartFaceAuthResponse, work)


async def complete_face_auth(ctx: IdentityContext, caller: Caller,
                             request: identity_pb2.CompleteFaceAuthRequest,
                             ) -> identity_pb2.CompleteFaceAuthResponse:
    check_request_id(request.request_id)
    if not request.session_id:
        raise DomainError("INVALID_ARGUMENT", "session_id is required", field="session_id")
    _check_frames(ctx, request.frames)

    claim_key = key_lock_id(caller.key, COMPLETE, request.request_id)

    async def attempt() -> identity_pb2.CompleteFaceAuthResponse:
        # a caller that leaves does not cut the decision short: it is stored for its retry
        return await run_to_end(_complete(ctx, caller, request, claim_key))

    return await ctx.idempotency.first_reply(ctx.db, caller.key, COMPLETE, request,
                                             identity_pb2.CompleteFaceAuthResponse, attempt)


async def _complete(ctx: IdentityContext, caller: Caller, request: identity_pb2.CompleteFaceAuthRequest,
                    claim_key: int) -> identity_pb2.CompleteFaceAuthResponse:
    """Claim the session, decide outside any transaction, write the decision with its reply."""
    async with ctx.db.write() as session:
        face_session, reference = await _completable(ctx, session, request)
        await _claim(ctx, session, face_session, claim_key)
    try:
        started = time.perf_counter()
        decision = await _decide(ctx, face_session, reference, request.frames)
        engine_ms = round((time.perf_counter() - started) * 1000)
        log.info("face_frames_analysed", session_id=face_session.session_id,
                 frame_count=len(request.frames), engine_ms=engine_ms)

        async def work(session: AsyncSession) -> identity_pb2.CompleteFaceAuthResponse:
            now = ctx.clock.now()
            current, _ = await _completable(ctx, session, request)
            if not await ctx.sessions.use(session, current.session_id, claim_key,
                                          decision.outcome.value, now):
                raise DomainError("SESSION_USED", "the face-auth session was already completed")
            await ctx.audit.record(session, _decision_event(caller, current, decision, now))
            response = identity_pb2.CompleteFaceAuthResponse(decision=decision_to_proto(decision))
            if decision.succeeded:
                token, expires_at = await issue(
                    ctx, session, person_id=current.person_id, purpose=current.purpose.value,
                    audience=current.audience, device_id=current.device_id, method=Method.FACE.value,
                    actor=caller.principal, now=now)
                response.assertion = token
                response.assertion_expires_at.CopyFrom(timestamp(expires_at))
                lock = await ctx.attempts.combined(session, current.person_id, current.device_id, now)
            else:
                lock = await _count_failure(ctx, session, caller, current, now)
            response.attempts_remaining = lock.remaining
            log.info("face_decision", session_id=current.session_id, person_id=current.person_id,
                     outcome=decision.outcome.value, distance=round(decision.distance, 4),
                     threshold=decision.threshold, liveness=decision.liveness_detail,
                     frame_count=len(request.frames), engine_ms=engine_ms,
                     attempts_remaining=lock.remaining)
            if lock.locked_until is not None:
                response.locked_until.CopyFrom(timestamp(lock.locked_until))
            return response

        return await ctx.idempotency.run(ctx.db, caller.key, COMPLETE, request,
                                         identity_pb2.CompleteFaceAuthResponse, work)
    except BaseException:
        await _release(ctx, face_session.session_id, claim_key)
        raise


async def _claim(ctx: IdentityContext, session: AsyncSession, face_session: FaceSession,
                 claim_key: int) -> None:
    """Take the session for this completion: one decides it, its twins wait for the reply."""
    now = ctx.clock.now()
    face_session.check_unclaimed(claim_key, now)
    if await ctx.sessions.claim(session, face_session, claim_key, now):
        return
    current = await ctx.sessions.get(session, face_session.session_id)  # taken meanwhile
    if current is None or current.state is SessionState.USED:
        raise DomainError("SESSION_USED", "the face-auth session was already completed")
    current.check_unclaimed(claim_key, now)
    raise DomainError("REQUEST_IN_PROGRESS", "the face-auth session keeps changing; retry")


async def _release(ctx: IdentityContext, session_id: str, claim_key: int) -> None:
    """A completion that decided nothing lets go of the session (it lapses otherwise)."""
    try:
        async with ctx.db.write() as session:
            await ctx.sessions.release(session, session_id, claim_key)
    except Exception as exc:  # the original error matters more; the claim lapses anyway
        log.warning("face_session_claim_not_released", session_id=session_id,
                    error=type(exc).__name__)


async def _completable(
    ctx: IdentityContext, session: AsyncSession, request: identity_pb2.CompleteFaceAuthRequest,
) -> tuple[FaceSession, tuple[float, ...] | None]:
    """The session if it can be completed now with these frames, and the reference template
    (None for a session of nobody enrolled)."""
    now = ctx.clock.now()
    face_session = await ctx.sessions.get(session, request.session_id)
    if face_session is None:
        raise DomainError("SESSION_NOT_FOUND", "no face-auth session with that id")
    face_session.check_completable(request.nonce, now)
    if len(request.frames) != face_session.frames_expected:
        raise DomainError("INVALID_ARGUMENT", f"{face_session.frames_expected} frames are expected, "
                          f"{len(request.frames)} were sent", field="frames")
    lock = await ctx.attempts.combined(session, face_session.person_id, face_session.device_id, now)
    lock.refuse_if_locked(now)
    return face_session, await ctx.persons.template(session, face_session.person_id)


def _stand_in(analysed: list[FaceObservation | FrameRefused], threshold: float) -> tuple[float, ...]:
    """A reference for a session of nobody enrolled: at an impostor's distance (threshold +
    0.33..0.42, 0.83..0.92 at the default 0.5, as different people measure) from the first
    face sent, in a random direction, so the decision is an ordinary MISMATCH."""
    seen = next((a.embedding for a in analysed if isinstance(a, FaceObservation)), None)
    if seen is None:
        return (0.0,) * 128  # a refused frame decides first; the reference is not used
    direction = [_rng.gauss(0.0, 1.0) for _ in seen]
    norm = math.sqrt(sum(d * d for d in direction)) or 1.0
    away = threshold + _rng.uniform(0.33, 0.42)
    return tuple(e + away * d / norm for e, d in zip(seen, direction, strict=True))


async def _decide(ctx: IdentityContext, face_session: FaceSession, reference: tuple[float, ...] | None,
                  frames: list[bytes]) -> Decision:
    analysed: list[FaceObservation | FrameRefused] = []
    for result in await ctx.faces.analyse_frames(frames):
        if isinstance(result, DomainError):
            if result.reason not in FRAME_REFUSALS:
                raise result  # e.g. IMAGE_TOO_LARGE (absurd pixel count): an error, not a decision
            analysed.append(FrameRefused(result.reason))
        else:
            analysed.append(result)
    if reference is None:
        reference = _stand_in(analysed, ctx.limits.match_threshold)
    return decide(face_session.actions, analysed, reference, ctx.limits.match_threshold, ctx.liveness)


async def _count_failure(ctx: IdentityContext, session: AsyncSession, caller: Caller,
                         current: FaceSession, now: datetime) -> LockState:
    person, device = await ctx.attempts.record_failure(
        session, current.person_id, current.device_id, current.session_id, now)
    for what, state in (("person", person), ("device", device)):
        if state.locked_until is not None:
            log.warning("face_auth_locked_out", subject=what, person_id=current.person_id,
                        locked_until=state.locked_until.isoformat())
            await ctx.audit.record(session, AuditRecord(
                "LOCKED_OUT", caller.principal, now, person_id=current.person_id,
                session_id=current.session_id, purpose=current.purpose.value,
                device_id=current.device_id, succeeded=False, reason="LOCKED_OUT",
                detail=f"{what} locked until {state.locked_until.isoformat()}"))
    return strictest([person, device])


def _decision_event(caller: Caller, s: FaceSession, d: Decision, now: datetime) -> AuditRecord:
    return AuditRecord(
        "FACE_DECISION", caller.principal, now, person_id=s.person_id, session_id=s.session_id,
        purpose=s.purpose.value, device_id=s.device_id, succeeded=d.succeeded,
        reason="" if d.succeeded else d.outcome.reason, distance=d.distance, threshold=d.threshold,
        detail=d.liveness_detail)


def _check_frames(ctx: IdentityContext, frames: list[bytes]) -> None:
    if not frames:
        raise DomainError("INVALID_ARGUMENT", "frames are required", field="frames")
    for i, frame in enumerate(frames):
        if len(frame) > ctx.limits.max_image_bytes:
            raise DomainError("IMAGE_TOO_LARGE", f"frame {i} is {len(frame)} bytes; the limit is "
                              f"{ctx.limits.max_image_bytes}", field="frames",
                              maxBytes=ctx.limits.max_image_bytes)

