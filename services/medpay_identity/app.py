"""Composition root of the identity service."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import structlog

from medpay.identity.v1 import identity_pb2_grpc
from medpay_identity.access import ACCESS
from medpay_identity.adapters.attempts import AttemptRepository
from medpay_identity.adapters.audit import AuditLog
from medpay_identity.adapters.face_pool import FacePool
from medpay_identity.adapters.issued import IssuedAssertions
from medpay_identity.adapters.persons import PersonRepository
from medpay_identity.adapters.sessions import SessionRepository
from medpay_identity.adapters.signing_keys import SigningKeyRepository
from medpay_identity.domain.liveness import HeadTurnChallenge
from medpay_identity.domain.lockout import LockoutPolicy
from medpay_identity.servicer import SERVICE, IdentityServicer
from medpay_identity.settings import MAX_ASSERTION_TTL_S, IdentitySettings
from medpay_identity.usecases.context import IdentityContext, Limits
from medpay_kit.auth import CallerKind, static_resolver
from medpay_kit.keyring import Keyring
from medpay_kit.server import App, Runtime, Servicer

log = structlog.get_logger()


async def build(runtime: Runtime) -> App:
    settings = runtime.settings
    assert isinstance(settings, IdentitySettings)
    db = await runtime.database("medpay_identity")
    keyring = await _keyring(settings.keyring_file)
    keys = SigningKeyRepository(keyring, publish_after_retirement=timedelta(seconds=MAX_ASSERTION_TTL_S + 60))
    await keys.ensure_active(db, runtime.clock.now())
    faces = FacePool(settings.face_workers, max_bytes=settings.max_image_bytes,
                     min_face_px=settings.min_face_px)
    await faces.start()  # models loaded and run once before the service reports healthy
    ctx = IdentityContext(
        db=db, clock=runtime.clock, faces=faces, liveness=HeadTurnChallenge(),
        limits=Limits(match_threshold=settings.match_threshold, session_ttl_s=settings.session_ttl_s,
                      assertion_ttl_s=settings.assertion_ttl_s, max_image_bytes=settings.max_image_bytes),
        persons=PersonRepository(keyring), sessions=SessionRepository(),
        attempts=AttemptRepository(LockoutPolicy(
            max_failures=settings.max_failures, window=timedelta(seconds=settings.failure_window_s),
            lockout=timedelta(seconds=settings.lockout_s))),
        audit=AuditLog(), keys=keys, issued=IssuedAssertions())
    log.info("identity_ready", match_threshold=settings.match_threshold, face_workers=faces.workers)

    async def face_pool_owner() -> None:
        """Keeps the worker processes for the life of the server; stops them at shutdown."""
        try:
            await asyncio.Event().wait()
        finally:
            faces.close()

    return App(
        servicers=[Servicer(identity_pb2_grpc.add_IdentityServiceServicer_to_server,
                            IdentityServicer(ctx), SERVICE)],
        access=ACCESS,
        resolvers={"app": static_resolver(CallerKind.APP, "app", settings.pki_dir / "app.token")},
        background=[face_pool_owner],
    )


async def _keyring(path: Path) -> Keyring:
    """Load (or create) the keyring; tolerate another process creating it at the same moment."""
    for attempt in range(50):
        try:
            return Keyring.load_or_create(path)
        except (FileExistsError, json.JSONDecodeError, KeyError):
            if attempt == 49:
                raise
            await asyncio.sleep(0.05)
    raise AssertionError("unreachable")
