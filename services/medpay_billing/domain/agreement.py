"""The credit agreement: its states, what each allows, and the credit arithmetic (pure).

::

    ACTIVE ──bill overdue──► SUSPENDED ──last overdue bill paid──► ACTIVE
      │                          │
      └──────── overdue ≥ N days ┴──► BLACKLISTED   (stays: a credit flag lifted by the agency)
    any ──► CLOSED

``used`` is the credit in use: unpaid bills plus the expected self-pay of open visits.
``available = max(0, limit - used)``. Paying a bill never lifts BLACKLISTED.
"""

from __future__ import annotations

from enum import StrEnum

from medpay_kit.errors import DomainError


class AgreementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    BLACKLISTED = "BLACKLISTED"
    CLOSED = "CLOSED"


def require_open_for_visits(status: AgreementStatus | None) -> None:
    """OpenVisit needs an ACTIVE agreement; otherwise the HIS collects at the window."""
    if status is None or status is AgreementStatus.CLOSED:
        raise DomainError("AGREEMENT_NOT_FOUND", "no credit agreement with this hospital")
    if status is AgreementStatus.SUSPENDED:
        raise DomainError("AGREEMENT_SUSPENDED", "the credit agreement is suspended (overdue bill)")
    if status is AgreementStatus.BLACKLISTED:
        raise DomainError("AGREEMENT_BLACKLISTED", "the credit agreement is blacklisted")


def after_overdue(status: AgreementStatus) -> AgreementStatus:
    return AgreementStatus.SUSPENDED if status is AgreementStatus.ACTIVE else status


def after_blacklist(status: AgreementStatus) -> AgreementStatus:
    if status in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED):
        return AgreementStatus.BLACKLISTED
    return status


def after_settled(status: AgreementStatus, overdue_bills_left: int) -> AgreementStatus:
    """A paid or written-off bill lifts the suspension once nothing else is overdue."""
    if status is AgreementStatus.SUSPENDED and overdue_bills_left == 0:
        return AgreementStatus.ACTIVE
    return status


def available(limit_fen: int, used_fen: int) -> int:
    return max(0, limit_fen - used_fen)


def check_credit(limit_fen: int, used_fen: int, reserved_fen: int, expected_fen: int) -> int:
    """The visit's new expected self-pay against the credit left to it; returns the delta.

    ``reserved_fen`` is what this visit already counts in ``used_fen``.
    """
    room = limit_fen - (used_fen - reserved_fen)
    if expected_fen > room:
        raise DomainError("CREDIT_LIMIT_EXCEEDED",
                          "the expected self-pay would pass the available credit; collect now",
                          availableFen=max(0, room), expectedFen=expected_fen)
    return expected_fen - reserved_fen
