"""Holds (authorizations) and what each later step may do with them.

``AUTHORIZED`` → ``CAPTURED`` (Capture) | ``VOIDED`` (Void) | ``EXPIRED`` (not captured within
the hold's lifetime; released by the sweep). Capture after a void or an expiry, a second
capture and a refund before capture are refused with their own reasons. Void is "make sure
the hold is released": voiding a hold that is already voided or expired succeeds and
changes nothing, so an acquirer unwinding after a timeout can always call it.
"""

from __future__ import annotations

from datetime import datetime

from medpay_kit.errors import DomainError

AUTHORIZED, CAPTURED, VOIDED, EXPIRED = "AUTHORIZED", "CAPTURED", "VOIDED", "EXPIRED"


def is_past_expiry(expires_at: datetime, now: datetime) -> bool:
    return now >= expires_at


def ensure_capturable(state: str, expires_at: datetime, now: datetime) -> None:
    if state == CAPTURED:
        raise DomainError("HOLD_ALREADY_CAPTURED", "the hold was already captured")
    if state == VOIDED:
        raise DomainError("HOLD_VOIDED", "the hold was voided")
    if state == EXPIRED or is_past_expiry(expires_at, now):
        raise DomainError("HOLD_EXPIRED", "the hold expired before it was captured")


def needs_release(state: str) -> bool:
    """Whether a Void must release the hold (False: already released, nothing to do)."""
    if state == CAPTURED:
        raise DomainError("HOLD_ALREADY_CAPTURED", "the hold was captured; refund it instead")
    return state == AUTHORIZED


def ensure_refundable(state: str) -> None:
    if state == AUTHORIZED:
        raise DomainError("HOLD_NOT_CAPTURED", "the hold is not captured; void it instead")
    if state == VOIDED:
        raise DomainError("HOLD_VOIDED", "the hold was voided")
    if state == EXPIRED:
        raise DomainError("HOLD_EXPIRED", "the hold expired and was never captured")
