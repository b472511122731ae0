"""base64url without padding, with one text form per byte string.

Tokens medpay issues (QR payloads, identity assertions) travel as base64url text. Python's
decoder accepts many texts for the same bytes (padding, ``+``/``/``, other values in the
unused trailing bits, stray characters); :func:`decode` accepts only the text
:func:`encode` writes, so one token has exactly one text and a changed character is
always a changed token.
"""

from __future__ import annotations

import base64
import binascii


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(text: str) -> bytes:
    """The bytes of a canonical text; ``ValueError`` for any other text."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if encode(raw) != text:
        raise ValueError("not the canonical base64url text")
    return raw
