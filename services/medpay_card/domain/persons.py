"""Insured persons: register statuses and what each status allows.

The ID-number rule (GB 11643) and the name mask are the kit's (``medpay_kit.personal``), shared
with identity and the tools. Nothing here ever puts a name or an ID number into a message.
"""

from __future__ import annotations

from medpay_kit.errors import DomainError

ACTIVE, SUSPENDED, TERMINATED = "ACTIVE", "SUSPENDED", "TERMINATED"
STATUSES = (ACTIVE, SUSPENDED, TERMINATED)


def ensure_may_be_issued_a_card(status: str) -> None:
    if status == TERMINATED:
        raise DomainError("INSURED_INACTIVE", "the insured person's insurance has ended")


def ensure_may_pay(status: str) -> None:
    if status != ACTIVE:
        raise DomainError("INSURED_INACTIVE", "the insured person's benefits are not active")
