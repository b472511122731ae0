"""Small rules about personal identifiers that several services and tools share.

Resident ID numbers (GB 11643-1999) are 18 characters: a 6-digit region code, the birth
date ``YYYYMMDD``, a 3-digit sequence and a check character computed from the first 17
digits (ISO 7064 MOD 11-2: weights ``2^(17-i) mod 11``, then ``"10X98765432"[sum mod 11]``).
A lower-case ``x`` is accepted and normalised to ``X``. Names are shown masked: all but
the first character. Nothing here ever puts a number or a name in a message.
"""

from __future__ import annotations

from datetime import date

from medpay_kit.errors import DomainError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_YEAR = 1850


def check_character(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the check character is computed from 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str, *, today: date) -> str:
    """The ID number in canonical form, or ``INVALID_ID_NUMBER`` (the message names no digits)."""
    value = raw.strip().upper()
    if len(value) != 18 or not value.isascii() or not value[:17].isdigit():
        raise _invalid("must be 17 digits and a check character")
    if value[0] == "0":
        raise _invalid("the region code is not valid")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise _invalid("the birth date is not a date") from None
    if not EARLIEST_BIRTH_YEAR <= born.year or born > today:
        raise _invalid("the birth date is out of range")
    if value[17] != check_character(value[:17]):
        raise _invalid("the check character does not match")
    return value


def mask_name(name: str) -> str:
    """All but the first character masked, never fewer than one mark: ``张三`` → ``张*``,
    ``欧阳娜娜`` → ``欧***``, ``王`` → ``王*``."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def _invalid(why: str) -> DomainError:
    return DomainError("INVALID_ID_NUMBER", f"the ID number is not valid: {why}", field="id_number")
