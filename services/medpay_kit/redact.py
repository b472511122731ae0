"""Keeps personal data out of log lines, error texts and span attributes.

Two passes: values under sensitive keys are replaced whole, and every string value is
scrubbed of things that look like an ID number (18 characters with a check character),
a mainland mobile number, a medpay bearer credential (``<prefix>_<id>.<secret>``, the id
and secret may hold ``-`` and ``_``), an identity assertion or a QR payload. Bytes never
pass (images, faces). Every value is then cut to a bounded length (:func:`bound`), so a
caller cannot make a log line, an error text or a span attribute as long as its request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset({
    "id_number", "name", "full_name", "person_name", "phone", "mobile", "token",
    "credential", "device_credential", "authorization", "password", "secret",
    "photo", "image", "frames", "frame", "embedding", "template", "face",
    "qr", "qr_payload", "assertion", "person_number", "address",
})
SENSITIVE_SUFFIXES = (
    "_token", "_credential", "_secret", "_photo", "_image", "_payload", "_id_number",
    "_phone", "_embedding", "_assertion",
)

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
_TOKEN = re.compile(r"(?:op|pos|his|dev|app|svc)_[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{8,}")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
# an identity assertion (a JWS whose header starts '{"') and a card QR payload
_ASSERTION = re.compile(r"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.?[A-Za-z0-9_\-]*")
_QR = re.compile(r"MPQR1\.[A-Za-z0-9_\-=]*")

#: the longest string value a log line, an error text or a span attribute carries
MAX_VALUE_CHARS = 512
#: the longest formatted exception (a traceback) a log line carries
MAX_TEXT_CHARS = 8192
#: the most items of one list or mapping a log line shows
MAX_ITEMS = 50
_MARGIN = 1024  # scrubbed past the cut, so a secret across it is still recognised whole


def is_sensitive_key(key: str) -> bool:
    k = key.lower()
    return k in SENSITIVE_KEYS or k.endswith(SENSITIVE_SUFFIXES)


def bound(text: str, limit: int = MAX_VALUE_CHARS, length: int | None = None) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was (``length``, if longer)."""
    length = max(len(text), length or 0)
    if length <= limit:
        return text
    return f"{text[:limit]}…[cut, {length} chars]"


def scrub_text(text: str) -> str:
    text = _BEARER.sub("Bearer [credential]", text)
    text = _TOKEN.sub("[credential]", text)
    text = _ASSERTION.sub("[assertion]", text)
    text = _QR.sub("[qr]", text)
    text = _ID_NUMBER.sub("[id-number]", text)
    return _PHONE.sub("[phone]", text)


def scrub(value: Any, limit: int = MAX_VALUE_CHARS) -> Any:
    """``value`` scrubbed and bounded: strings, bytes, mappings and sequences, nested."""
    if isinstance(value, str):
        return bound(scrub_text(value[:limit + _MARGIN]), limit, len(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {bound(scrub_text(str(k)[:limit]), 64): (REDACTED if is_sensitive_key(str(k)) else scrub(v))
                for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in list(value)[:MAX_ITEMS]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), limit)


#: values the kit itself puts on every line; never personal, so never scrubbed
SAFE_KEYS = frozenset({"trace_id", "span_id", "timestamp", "level", "service"})


def redact_event(_logger: object, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last word before rendering."""
    return {k: v if k in SAFE_KEYS else (REDACTED if is_sensitive_key(k) else scrub(v, _limit(k)))
            for k, v in event.items()}


def _limit(key: str) -> int:
    return MAX_TEXT_CHARS if key in ("exception", "stack") else MAX_VALUE_CHARS

