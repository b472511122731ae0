"""What every use case works with, wired once by the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from google.protobuf.timestamp_pb2 import Timestamp

from medpay_identity.adapters.attempts import AttemptRepository
from medpay_identity.adapters.audit import AuditLog
from medpay_identity.adapters.issued import IssuedAssertions
from medpay_identity.adapters.persons import PersonRepository
from medpay_identity.adapters.sessions import SessionRepository
from medpay_identity.adapters.signing_keys import SigningKeyRepository
from medpay_identity.adapters.tables import idempotency
from medpay_identity.domain.face import FaceObservation
from medpay_identity.domain.liveness import LivenessChecker
from medpay_kit.clock import Clock
from medpay_kit.db import Database
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import IdempotencyStore


class FaceAnalyser(Protocol):
    """The face engine as the use cases see it (the process pool, or a fake in tests)."""

    async def analyse(self, image: bytes) -> FaceObservation: ...

    async def analyse_frames(self, frames: Sequence[bytes]) -> list[FaceObservation | DomainError]: ...


@dataclass(frozen=True, slots=True)
class Limits:
    match_threshold: float
    session_ttl_s: int
    assertion_ttl_s: int
    max_image_bytes: int


@dataclass(frozen=True, slots=True)
class IdentityContext:
    db: Database
    clock: Clock
    limits: Limits
    faces: FaceAnalyser
    liveness: LivenessChecker
    persons: PersonRepository
    sessions: SessionRepository
    attempts: AttemptRepository
    audit: AuditLog
    keys: SigningKeyRepository
    issued: IssuedAssertions
    idempotency: IdempotencyStore = field(default_factory=lambda: IdempotencyStore(idempotency))


def timestamp(at: datetime | None) -> Timestamp | None:
    """A protobuf Timestamp, or None to leave the field unset."""
    if at is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts
