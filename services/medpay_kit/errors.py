"""Domain errors with a stable reason, and the one table that maps reasons to gRPC codes.

Outcome rules (errors.proto says them in full): UNAVAILABLE (``OUTCOME_UNKNOWN``),
DEADLINE_EXCEEDED and ``REQUEST_IN_PROGRESS`` mean "outcome unknown: retry with the same
request_id or ask Get…"; every other refusal means nothing happened.

The reason catalogue itself is the protobuf enum ``medpay.common.v1.ErrorReason``; a client
sees the name after ``ERROR_REASON_`` in ``google.rpc.ErrorInfo.reason``. This module only
says which gRPC status code each reason travels with. A test keeps both in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from grpc import StatusCode

DOMAIN = "medpay"

_C = StatusCode
_BY_CODE: dict[StatusCode, tuple[str, ...]] = {
    _C.INVALID_ARGUMENT: (
        "INVALID_ARGUMENT", "MALFORMED_REQUEST", "INVALID_ID_NUMBER", "IMAGE_INVALID",
        "IMAGE_TOO_LARGE", "NO_FACE", "MULTIPLE_FACES", "FACE_TOO_SMALL", "NONCE_MISMATCH", "QR_INVALID",
        "PAYMENT_CONTEXT_INVALID", "ITEM_NOT_IN_CATALOGUE", "PRICE_ABOVE_CATALOGUE",
        "BASKET_EMPTY", "TOO_MANY_LINES", "QUANTITY_INVALID",
    ),
    _C.RESOURCE_EXHAUSTED: ("MESSAGE_TOO_LARGE", "LOCKED_OUT", "RATE_LIMITED"),
    _C.UNAUTHENTICATED: ("UNAUTHENTICATED", "DEVICE_CREDENTIAL_INVALID"),
    _C.PERMISSION_DENIED: (
        "PERMISSION_DENIED", "FACE_MISMATCH", "LIVENESS_FAILED", "ASSERTION_INVALID",
        "ASSERTION_EXPIRED", "ASSERTION_USED", "ASSERTION_WRONG_PURPOSE",
        "ASSERTION_WRONG_AUDIENCE", "ASSERTION_WRONG_DEVICE", "QR_WRONG_MERCHANT",
    ),
    _C.NOT_FOUND: (
        "NOT_FOUND", "SESSION_NOT_FOUND", "PERSON_NOT_ENROLLED", "INSURED_NOT_FOUND",
        "CARD_NOT_FOUND", "HOLD_NOT_FOUND", "PHARMACY_NOT_FOUND", "TERMINAL_NOT_FOUND",
        "SETTLEMENT_NOT_FOUND", "HOSPITAL_NOT_FOUND", "AGREEMENT_NOT_FOUND",
        "APPOINTMENT_NOT_FOUND", "VISIT_NOT_FOUND", "CHARGE_NOT_FOUND", "BILL_NOT_FOUND",
    ),
    _C.ALREADY_EXISTS: (
        "ALREADY_EXISTS", "IDEMPOTENCY_MISMATCH", "CARD_ALREADY_ISSUED",
        "PERIOD_ALREADY_CREDITED", "AGREEMENT_EXISTS", "CHARGE_CONFLICT",
    ),
    _C.FAILED_PRECONDITION: (
        "FAILED_PRECONDITION", "CONSENT_REQUIRED", "SESSION_EXPIRED", "SESSION_USED",
        "INSURED_INACTIVE", "CARD_SUSPENDED", "CARD_REVOKED", "QR_EXPIRED", "QR_ALREADY_USED",
        "PAYMENT_CONTEXT_EXPIRED", "POLICY_NOT_FOUND", "INSUFFICIENT_BALANCE", "HOLD_EXPIRED",
        "HOLD_ALREADY_CAPTURED", "HOLD_VOIDED", "HOLD_NOT_CAPTURED", "REFUND_EXCEEDS_PAID",
        "ALREADY_REFUNDED", "SETTLEMENT_NOT_CANCELLABLE", "NOTHING_TO_REVERSE",
        "CHANNEL_DECLINED", "AGREEMENT_SUSPENDED", "AGREEMENT_BLACKLISTED",
        "CREDIT_LIMIT_EXCEEDED", "SLOT_UNAVAILABLE", "APPOINTMENT_NOT_CANCELLABLE",
        "VISIT_CLOSED", "VISIT_NOT_CLOSED", "BILL_ALREADY_PAID", "SETTLEMENT_FAILED",
    ),
    _C.ABORTED: ("REQUEST_IN_PROGRESS", "YEARLY_CAP_CONFLICT", "CHANNEL_TIMEOUT"),
    _C.UNAVAILABLE: ("UNAVAILABLE", "OUTCOME_UNKNOWN"),
    _C.DEADLINE_EXCEEDED: ("DEADLINE_EXCEEDED",),
    _C.INTERNAL: ("INTERNAL",),
}

#: the reasons after which the outcome of a mutation is not known yet (see the module doc)
OUTCOME_UNKNOWN_REASONS = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "REQUEST_IN_PROGRESS",
                                     "OUTCOME_UNKNOWN"})

#: reason -> gRPC status code, for every reason in the catalogue.
CODES: dict[str, StatusCode] = {r: code for code, rs in _BY_CODE.items() for r in rs}


class DomainError(Exception):
    """A refusal the caller can act on: a stable reason, a safe message, safe metadata.

    The message and metadata travel to the caller and into logs: never put personal data
    (ID numbers, names, phone numbers, tokens, images) in them.
    """

    def __init__(self, reason: str, message: str, **metadata: object) -> None:
        if reason not in CODES:
            raise ValueError(f"unknown error reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = {k: str(v) for k, v in metadata.items()}

    @property
    def code(self) -> StatusCode:
        return CODES[self.reason]

    def __repr__(self) -> str:
        return f"DomainError({self.reason}: {self.message})"


@contextmanager
def outcome_unknown_on_failure(message: str, **metadata: object) -> Iterator[None]:
    """From here on an effect may have been committed: an unexpected failure inside becomes
    ``OUTCOME_UNKNOWN`` (retry with the same request_id, or ask Get…), never ``INTERNAL``.

    Whoever opens it must make sure the effect is finished or undone without the caller
    (a recovery loop, or the next retry). Refusals (``DomainError``) pass unchanged.
    """
    try:
        yield
    except DomainError:
        raise
    except Exception as exc:
        raise outcome_unknown(exc, message, **metadata) from exc


def outcome_unknown(exc: BaseException, message: str, **metadata: object) -> DomainError:
    """The ``OUTCOME_UNKNOWN`` answer for an unexpected failure ``exc`` (logged here)."""
    structlog.get_logger().error("outcome_unknown_after_failure", exc_info=exc)
    return DomainError("OUTCOME_UNKNOWN", message, **metadata)
