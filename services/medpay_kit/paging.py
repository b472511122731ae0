"""Opaque page tokens (AIP-158): the values a list resumes after, base64 of a JSON list.

A token a client altered, or one from another list, is refused with INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import json

from medpay_kit.errors import DomainError


def encode_token(*values: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_token(token: str, size: int) -> list[str] | None:
    """The ``size`` values of a token, None for the first page."""
    if not token:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        values = None
    if not isinstance(values, list) or len(values) != size or not all(
            isinstance(v, str) for v in values):
        raise DomainError("INVALID_ARGUMENT", "page_token is not valid", field="page_token")
    return values
