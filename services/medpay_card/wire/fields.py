"""Field checks shared by the request parsers: every refusal names its field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from medpay.common.v1 import money_pb2
from medpay_kit.errors import DomainError
from medpay_kit.money import CURRENCY, FEN_PER_YUAN, MAX_FEN

_OPAQUE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_MERCHANT = re.compile(r"[A-Za-z0-9]{1,32}")
_DEVICE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PERSON_NUMBER = re.compile(r"[A-Za-z0-9]{1,30}")
_REGION = re.compile(r"[0-9]{6}")
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def bad(field: str, message: str, reason: str = "INVALID_ARGUMENT", **extra: object) -> DomainError:
    return DomainError(reason, message, field=field, **extra)


def _match(pattern: re.Pattern[str], value: str, field: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise bad(field, f"{field} must be {what}")
    return value


def opaque_id(value: str, field: str) -> str:
    return _match(_OPAQUE_ID, value, field, "an id of 1..64 letters, digits or _.:-")


def merchant_id(value: str, field: str = "merchant_id") -> str:
    return _match(_MERCHANT, value, field, "an institution code of 1..32 letters or digits")


def device_id(value: str, field: str = "device_id") -> str:
    return _match(_DEVICE, value, field, "1..64 letters, digits, _ or -")


def person_number(value: str, field: str = "person_number") -> str:
    return _match(_PERSON_NUMBER, value, field, "1..30 letters or digits")


def region_code(value: str, field: str = "region_code") -> str:
    return _match(_REGION, value, field, "a 6-digit region code")


def period(value: str, field: str = "period") -> str:
    return _match(_PERIOD, value, field, "a month written YYYY-MM")


def text(value: str, field: str, *, max_len: int, required: bool = False) -> str:
    """Free text (names, reasons, references): printable, bounded, optionally required."""
    value = value.strip()
    if required and not value:
        raise bad(field, f"{field} is required")
    if len(value) > max_len or not value.isprintable():
        raise bad(field, f"{field} must be printable text of at most {max_len} characters")
    return value


def money(value: money_pb2.Money, field: str, *, positive: bool = False) -> int:
    if value.currency not in ("", CURRENCY):
        raise bad(field, f"{field} must be in {CURRENCY}")
    if value.amount_fen < 0 or (positive and value.amount_fen == 0):
        raise bad(field, f"{field} must be {'greater than zero' if positive else 'at least zero'}")
    if value.amount_fen > MAX_FEN:
        raise bad(field, f"{field} must be at most {MAX_FEN // FEN_PER_YUAN:,} yuan")
    return value.amount_fen


def iso_date(value: str, field: str, *, required: bool = True) -> date | None:
    if not value and not required:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(field, f"{field} must be a date written YYYY-MM-DD") from None


def timestamp(value: Timestamp, field: str) -> datetime:
    try:
        return value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise bad(field, f"{field} is not a valid time") from None


def page_size(value: int, field: str = "page_size", *, default: int = 50, most: int = 500) -> int:
    if value < 0:
        raise bad(field, f"{field} must not be negative")
    return min(value or default, most)
