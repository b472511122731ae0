"""Face-auth sessions: what was asked, for what, and whether it can still be answered.

A session binds a person, a purpose, a device and an audience to a random nonce and a
random liveness challenge. It can be completed once, before it expires, by whoever holds
the nonce; completing it uses it up whatever the decision. One completion runs at a time:
the call deciding it holds a claim (its idempotency key) for at most ``CLAIM_LEASE``.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from medpay_identity.domain.liveness import LivenessAction
from medpay_kit.errors import DomainError


class Purpose(enum.StrEnum):
    """What an assertion may be used for (the FacePurpose names without their prefix)."""

    CARD_ISSUE = "CARD_ISSUE"
    CREDIT_AGREEMENT = "CREDIT_AGREEMENT"
    STEP_UP_PAYMENT = "STEP_UP_PAYMENT"


#: longest a completion keeps its claim on a session (a crashed one's claim lapses then)
CLAIM_LEASE = timedelta(seconds=30)

#: the services that consume assertions (the "aud" claim)
AUDIENCES = frozenset({"card", "billing", "pharmacy"})


class SessionState(enum.StrEnum):
    OPEN = "OPEN"
    USED = "USED"


class Method(enum.StrEnum):
    """How an assertion's holder proved who they are (the "method" claim)."""

    FACE = "FACE"
    COUNTER = "COUNTER"


@dataclass(frozen=True, slots=True)
class FaceSession:
    session_id: str
    person_id: str
    purpose: Purpose
    device_id: str
    audience: str
    nonce: str
    actions: tuple[LivenessAction, ...]
    expires_at: datetime
    state: SessionState
    claim_key: int | None = None
    claimed_at: datetime | None = None

    @property
    def frames_expected(self) -> int:
        """A frontal frame, then one frame per action."""
        return len(self.actions) + 1

    def check_completable(self, nonce: str, now: datetime) -> None:
        """Refuse a wrong nonce, a used session, an expired one (in that order)."""
        if not hmac.compare_digest(nonce.encode(), self.nonce.encode()):
            raise DomainError("NONCE_MISMATCH", "the nonce does not belong to this session",
                              field="nonce")
        if self.state is SessionState.USED:
            raise DomainError("SESSION_USED", "the face-auth session was already completed")
        if now >= self.expires_at:
            raise DomainError("SESSION_EXPIRED", "the face-auth session has expired; start a new one")

    def check_unclaimed(self, claim_key: int, now: datetime) -> None:
        """Refuse a session another completion is deciding (within its lease): to a twin of
        that call it is in progress (it gets the decision), to any other request it is used."""
        if self.claim_key is None or self.claimed_at is None or now >= self.claimed_at + CLAIM_LEASE:
            return
        if self.claim_key == claim_key:
            raise DomainError("REQUEST_IN_PROGRESS", "this completion is still being decided; "
                              "retry with the same request_id")
        raise DomainError("SESSION_USED", "the face-auth session is being completed")


def encode_actions(actions: tuple[LivenessAction, ...]) -> str:
    return ",".join(a.value for a in actions)


def decode_actions(text: str) -> tuple[LivenessAction, ...]:
    return tuple(LivenessAction(a) for a in text.split(",") if a)
