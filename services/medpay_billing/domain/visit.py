"""The visit and how it is closed (pure).

::

    OPEN ──CloseVisit──► CLOSING ──authorize, capture──► CLOSED ──refund──► PARTIALLY_REFUNDED / REFUNDED
      ▲                     │
      └── issuer refused ───┘   (hold voided; charges can change again)

A CLOSING visit carries ``close_step`` (how far it got) and a lease. The issuer is called
with request ids derived from the visit id and its close attempt, so a retry or the
recovery loop after a crash repeats the same call and card replays its first outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from medpay_kit.errors import DomainError


class VisitStatus(StrEnum):
    OPEN = "OPEN"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class CloseStep(StrEnum):
    INTENT = "INTENT"  # CLOSING written; Authorize may or may not have reached card
    AUTHORIZED = "AUTHORIZED"  # hold placed; Capture may or may not have happened


#: the issuer's refusals after which a close is unwound (visit OPEN again), not retried
FINAL_REFUSALS = frozenset({
    "POLICY_NOT_FOUND", "INSUFFICIENT_BALANCE", "YEARLY_CAP_CONFLICT", "CARD_SUSPENDED",
    "CARD_REVOKED", "CARD_NOT_FOUND", "INSURED_INACTIVE", "INSURED_NOT_FOUND", "HOLD_EXPIRED",
    "HOLD_VOIDED", "HOLD_NOT_FOUND", "INVALID_ARGUMENT", "TOO_MANY_LINES", "QUANTITY_INVALID",
    "PERMISSION_DENIED", "FAILED_PRECONDITION", "IDEMPOTENCY_MISMATCH",
})


def require_open(status: VisitStatus) -> None:
    if status is not VisitStatus.OPEN:
        raise DomainError("VISIT_CLOSED", f"the visit is {status.value}; charges can no longer change")


def require_refundable(status: VisitStatus) -> None:
    if status in (VisitStatus.OPEN, VisitStatus.CLOSING):
        raise DomainError("VISIT_NOT_CLOSED", "the visit is not closed yet")
    if status is VisitStatus.REFUNDED:
        raise DomainError("ALREADY_REFUNDED", "the visit was already refunded in full")


def authorize_request_id(visit_id: str, attempt: int) -> str:
    return f"billing:{visit_id}:{attempt}:authorize"


def capture_request_id(visit_id: str, attempt: int) -> str:
    return f"billing:{visit_id}:{attempt}:capture"


def void_request_id(visit_id: str, attempt: int) -> str:
    return f"billing:{visit_id}:{attempt}:void"


@dataclass(frozen=True, slots=True)
class Parts:
    """Money of a settlement, a payout or a refund, in fen."""

    total: int = 0
    fund_pay: int = 0
    account_pay: int = 0
    cash_pay: int = 0

    def __neg__(self) -> Parts:
        return Parts(-self.total, -self.fund_pay, -self.account_pay, -self.cash_pay)
