"""The settlement state machine and the rules for undoing one (pure).

A settlement is written PENDING before anything else happens, then moves step by step::

    INTENT ──authorize──► AUTHORIZED ──(cash > 0)──► CHARGING ──charged──► CHARGED ──capture──► DONE
       │                      │                         │                    │
       └── refused ──► FAILED ◄┴── declined / timed out ─┘  (hold voided)      └─► COMPLETED

``status`` is what the till sees (PENDING until the last step, then COMPLETED or FAILED);
``step`` is how far a PENDING one got, so recovery knows what to finish or unwind.
A COMPLETED settlement can then be CANCELLED (same business day, in full), REVERSED
(ReverseByRequestId, same business day), or PARTIALLY_REFUNDED / REFUNDED by lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from medpay_kit.clock import CHINA
from medpay_kit.errors import DomainError


class Status(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REVERSED = "REVERSED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class Step(StrEnum):
    INTENT = "INTENT"  # row written; Authorize may or may not have reached the issuer
    AUTHORIZED = "AUTHORIZED"  # hold placed; the channel not asked yet
    CHARGING = "CHARGING"  # the charge was sent: query before deciding
    CHARGED = "CHARGED"  # cash collected (or none due); Capture may or may not have happened
    DONE = "DONE"  # COMPLETED or FAILED


class Purpose(StrEnum):
    REFUND = "REFUND"
    CANCEL = "CANCEL"
    REVERSE = "REVERSE"


#: the status a settlement takes when an undo of this purpose completes in full
UNDONE_STATUS = {Purpose.CANCEL: Status.CANCELLED, Purpose.REVERSE: Status.REVERSED}
#: statuses in which the issuer booked the claim (a forward reconciliation row exists)
BOOKED = frozenset({Status.COMPLETED, Status.CANCELLED, Status.REVERSED,
                    Status.PARTIALLY_REFUNDED, Status.REFUNDED})
REFUND_KINDS = ("ALL", "CASH", "HI")


def business_date(at: datetime) -> str:
    """The business date an instant counts on: its calendar date in China (UTC+8)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA).date().isoformat()


def parse_business_date(text: str, field: str = "business_date") -> str:
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else _bad_date(field)
    except ValueError:
        return _bad_date(field)


def _bad_date(field: str) -> str:
    raise DomainError("INVALID_ARGUMENT", f"{field} must be YYYY-MM-DD", field=field)


@dataclass(frozen=True, slots=True)
class Parts:
    """The money of a settlement or a refund, in fen."""

    total: int = 0
    fund_pay: int = 0
    account_pay: int = 0
    cash_pay: int = 0

    def __add__(self, other: Parts) -> Parts:
        return Parts(self.total + other.total, self.fund_pay + other.fund_pay,
                     self.account_pay + other.account_pay, self.cash_pay + other.cash_pay)

    def __neg__(self) -> Parts:
        return Parts(-self.total, -self.fund_pay, -self.account_pay, -self.cash_pay)

    def covers(self, other: Parts) -> bool:
        """True when no money part of ``other`` exceeds this one."""
        return (other.fund_pay <= self.fund_pay and other.account_pay <= self.account_pay
                and other.cash_pay <= self.cash_pay)


@dataclass(frozen=True, slots=True)
class DoneRefund:
    kind: str
    line_nos: tuple[int, ...]  # empty = every line
    parts: Parts


def require_cancellable(status: Status, booked_on: str, today: str) -> None:
    """Cancel / reverse: only a COMPLETED settlement, only on the day it was booked."""
    if status is not Status.COMPLETED:
        raise DomainError("SETTLEMENT_NOT_CANCELLABLE",
                          f"a {status.value} settlement cannot be cancelled")
    if booked_on != today:
        raise DomainError("SETTLEMENT_NOT_CANCELLABLE",
                          "only a settlement of the current business day can be cancelled")


def _covered_kinds(line_no: int, done: Iterable[DoneRefund]) -> set[str]:
    kinds: set[str] = set()
    for refund in done:
        if not refund.line_nos or line_no in refund.line_nos:
            kinds |= {"CASH", "HI"} if refund.kind == "ALL" else {refund.kind}
    return kinds


def plan_refund(status: Status, all_line_nos: Sequence[int], done: Sequence[DoneRefund],
                kind: str, line_nos: Sequence[int]) -> tuple[int, ...]:
    """Check a RefundLines request; returns the lines it refunds (sorted).

    Empty ``line_nos`` means every line not yet refunded for this kind. A line refunded
    ALL, or refunded CASH (HI) and asked CASH (HI) again, is ALREADY_REFUNDED; CASH then
    HI on the same lines adds up to ALL.
    """
    if kind not in REFUND_KINDS:
        raise DomainError("INVALID_ARGUMENT", "kind must be ALL, CASH or HI", field="kind")
    if status in (Status.CANCELLED, Status.REVERSED, Status.REFUNDED):
        raise DomainError("ALREADY_REFUNDED", f"the settlement is already {status.value}")
    if status not in (Status.COMPLETED, Status.PARTIALLY_REFUNDED):
        raise DomainError("FAILED_PRECONDITION", f"a {status.value} settlement cannot be refunded")
    wanted = {"CASH", "HI"} if kind == "ALL" else {kind}
    if len(set(line_nos)) != len(line_nos):
        raise DomainError("INVALID_ARGUMENT", "line_nos must not repeat", field="line_nos")
    unknown = sorted(set(line_nos) - set(all_line_nos))
    if unknown:
        raise DomainError("INVALID_ARGUMENT", f"line {unknown[0]} is not a line of this settlement",
                          field="line_nos", lineNo=unknown[0])
    if line_nos:
        for n in line_nos:
            if wanted & _covered_kinds(n, done):
                raise DomainError("ALREADY_REFUNDED", f"line {n} was already refunded",
                                  lineNo=n)
        return tuple(sorted(line_nos))
    left = tuple(n for n in sorted(all_line_nos) if not wanted & _covered_kinds(n, done))
    if not left:
        raise DomainError("ALREADY_REFUNDED", "every line was already refunded")
    return left


def status_after_refund(paid: Parts, refunded: Parts) -> Status:
    """PARTIALLY_REFUNDED until every money part has come back in full."""
    if (refunded.fund_pay >= paid.fund_pay and refunded.account_pay >= paid.account_pay
            and refunded.cash_pay >= paid.cash_pay):
        return Status.REFUNDED
    return Status.PARTIALLY_REFUNDED


def check_never_more_than_paid(paid: Parts, refunded_before: Parts, now: Parts) -> None:
    if not paid.covers(refunded_before + now):
        raise DomainError("REFUND_EXCEEDS_PAID", "the refund would return more than was paid")


def check_something_left(paid: Parts, refunded: Parts, kind: str) -> None:
    """Refuse a refund when the parts it would return have all come back already."""
    left = {"CASH": paid.cash_pay - refunded.cash_pay,
            "HI": paid.fund_pay + paid.account_pay - refunded.fund_pay - refunded.account_pay}
    left["ALL"] = left["CASH"] + left["HI"]
    if left.get(kind, 1) <= 0:
        raise DomainError("REFUND_EXCEEDS_PAID",
                          f"nothing is left to refund in the {kind} part of this settlement")
