"""Keeps personal data out of log lines, error texts and span attributes.

Two passes: values under sensitive keys are replaced whole, and every string value is
scrubbed of things that look like an ID number (18 characters with a check character),
a mainland mobile number or a medpay bearer credential. Bytes never pass (images, faces).
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
_TOKEN = re.compile(r"\b(?:op|pos|his|dev|app|svc)_[A-Za-z0-9]+\.[A-Za-z0-9_\-]{8,}")
_BEARER = re.compile(r"(?i)bearer\s+\S+")


def is_sensitive_key(key: str) -> bool:
    k = key.lower()
    return k in SENSITIVE_KEYS or k.endswith(SENSITIVE_SUFFIXES)


def scrub_text(text: str) -> str:
    text = _ID_NUMBER.sub("[id-number]", text)
    text = _PHONE.sub("[phone]", text)
    text = _TOKEN.sub("[credential]", text)
    return _BEARER.sub("Bearer [credential]", text)


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if isinstance(value, Mapping):
        return {k: (REDACTED if is_sensitive_key(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    return value


#: values the kit itself puts on every line; never personal, so never scrubbed
SAFE_KEYS = frozenset({"trace_id", "span_id", "timestamp", "level", "service"})


def redact_event(_logger: object, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last word before rendering."""
    return {k: v if k in SAFE_KEYS else (REDACTED if is_sensitive_key(k) else scrub(v))
            for k, v in event.items()}
