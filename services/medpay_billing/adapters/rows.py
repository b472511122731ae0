"""Small helpers for rows: aware datetimes, opaque ids, page tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from medpay_billing.domain.dates import business_day
from medpay_kit.errors import DomainError


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def new_id(prefix: str, at: datetime) -> str:
    """An opaque, roughly time-ordered id such as ``MD20261127A1B2C3D4E5F6``."""
    return f"{prefix}{business_day(at):%Y%m%d}{secrets.token_hex(6).upper()}"


def new_owner() -> str:
    return secrets.token_hex(8)




def page_size(requested: int) -> int:
    if requested < 0:
        raise DomainError("INVALID_ARGUMENT", "page_size must not be negative", field="page_size")
    return min(requested or 50, 500)
