"""Insured persons: register statuses, resident ID numbers (GB 11643) and masked names.

Nothing here ever puts a name or an ID number into a message.
"""

from __future__ import annotations

from medpay_kit.errors import DomainError

ACTIVE, SUSPENDED, TERMINATED = "ACTIVE", "SUSPENDED", "TERMINATED"
STATUSES = (ACTIVE, SUSPENDED, TERMINATED)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def check_character(first17: str) -> str:
    """The GB 11643 check character of 17 digits (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the check character is computed from 17 digits")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    """The 18-character ID number in canonical form (upper-case ``X``), or INVALID_ID_NUMBER."""
    value = raw.strip().upper()
    if (len(value) != 18 or not value.isascii() or not value[:17].isdigit()
            or value[17] != check_character(value[:17])):
        raise DomainError("INVALID_ID_NUMBER", "the ID number is not valid", field="id_number")
    return value


def mask_name(name: str) -> str:
    """All but the first character masked: ``张三`` → ``张*``, ``Obama`` → ``O****``."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def ensure_may_be_issued_a_card(status: str) -> None:
    if status == TERMINATED:
        raise DomainError("INSURED_INACTIVE", "the insured person's insurance has ended")


def ensure_may_pay(status: str) -> None:
    if status != ACTIVE:
        raise DomainError("INSURED_INACTIVE", "the insured person's benefits are not active")
