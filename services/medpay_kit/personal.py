"""Small rules about personal identifiers that several services and tools share.

Resident ID numbers (GB 11643-1999) are 18 characters: a 6-digit region code, the birth
date ``YYYYMMDD``, a 3-digit sequence and a check character computed from the first 17
digits (ISO 7064 MOD 11-2). Names are shown masked: all but the first character.
"""

from __future__ import annotations

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_character(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the check character is computed from 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def mask_name(name: str) -> str:
    """All but the first character masked: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""
