"""The bill: its states and how payment, overdue and refunds move it (pure).

::

    DUE ──paid──► PAID
     │
     └──after due date──► OVERDUE ──paid──► PAID
    DUE / OVERDUE / PAID ──refund──► PARTIALLY_REFUNDED ──refund rest──► REFUNDED

A bill whose self-pay part is 0 is issued PAID. A refund of an unpaid bill writes the
refunded cash off the receivable; of a paid bill, returns it through the channel. A
partially refunded bill may still owe a self-pay part: it can be paid, and it still counts
as overdue after its due date (``overdue`` flag), while its status tells the refund.
"""

from __future__ import annotations

from enum import StrEnum

from medpay_kit.errors import DomainError


class BillStatus(StrEnum):
    DUE = "DUE"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


def issued_status(cash_fen: int) -> BillStatus:
    return BillStatus.DUE if cash_fen > 0 else BillStatus.PAID


def require_payable(status: BillStatus, self_pay_due_fen: int) -> None:
    if self_pay_due_fen <= 0 or status in (BillStatus.PAID, BillStatus.REFUNDED):
        raise DomainError("BILL_ALREADY_PAID", "the bill has nothing left to pay")


def status_after_payment(status: BillStatus) -> BillStatus:
    return BillStatus.PAID if status in (BillStatus.DUE, BillStatus.OVERDUE) else status


def status_after_overdue(status: BillStatus) -> BillStatus:
    return BillStatus.OVERDUE if status is BillStatus.DUE else status


def status_after_refund(every_line_refunded: bool) -> BillStatus:
    return BillStatus.REFUNDED if every_line_refunded else BillStatus.PARTIALLY_REFUNDED


def split_cash_refund(cash_refunded_fen: int, self_pay_due_fen: int) -> tuple[int, int]:
    """``(written_off, returned_through_channel)`` for the cash part of a refund.

    What is still owed is written off first; anything beyond that was paid and goes back.
    """
    written_off = min(cash_refunded_fen, self_pay_due_fen)
    return written_off, cash_refunded_fen - written_off
