"""The QR payload: opaque, signed, short-lived and single-use.

``MPQR1.`` followed by base64url (no padding) of 40 bytes::

    token id (16 random-looking bytes) | expiry (8 bytes, big-endian unix seconds) | MAC (16 bytes)

The MAC is the first 16 bytes of an HMAC-SHA256 over the first 24 bytes under the card
service's QR key (``Keyring.mac("qr", ...)``), so a merchant cannot forge or alter a code
and the till cannot read anything personal from it. The service stores only the SHA-256
of the token id and the token's state, never the payload itself.

The token id is derived from the card id and the app's request id under the service's
key, so an idempotent retry of GenerateQrCode re-creates the same payload without the
payload ever being stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from medpay_kit import b64url
from medpay_kit.errors import DomainError

PREFIX = "MPQR1."
TOKEN_BYTES = 16
MAC_BYTES = 16
_BODY = TOKEN_BYTES + 8
MAX_PAYLOAD_CHARS = 128

Mac = Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class QrToken:
    token_id: bytes
    expires_at: datetime

    @property
    def token_hash(self) -> str:
        return token_hash(self.token_id)


def token_hash(token_id: bytes) -> str:
    """What the service stores to find a token again."""
    return hashlib.sha256(token_id).hexdigest()


def derive_token_id(card_id: str, request_id: str, mac: Mac) -> bytes:
    return mac(b"token\x00" + card_id.encode() + b"\x00" + request_id.encode())[:TOKEN_BYTES]


def encode(token: QrToken, mac: Mac) -> str:
    expiry = int(token.expires_at.timestamp())
    body = token.token_id + expiry.to_bytes(8, "big")
    return PREFIX + b64url.encode(body + mac(body)[:MAC_BYTES])


def _invalid() -> DomainError:
    return DomainError("QR_INVALID", "the QR code is not valid", field="qr_payload")


def decode(payload: str, mac: Mac) -> QrToken:
    """The token in a payload whose signature verifies; QR_INVALID for anything else.

    The payload must be exactly what :func:`encode` writes: a text that decodes to the
    same bytes but differs (padding, ``+``/``/``, other trailing bits, stray characters)
    is refused, so one token has one payload.
    """
    if not payload.startswith(PREFIX) or len(payload) > MAX_PAYLOAD_CHARS:
        raise _invalid()
    text = payload[len(PREFIX):]
    try:
        raw = b64url.decode(text)  # one text form only: no padding, alphabet or trailing-bit variants
    except ValueError:
        raise _invalid() from None
    if len(raw) != _BODY + MAC_BYTES:
        raise _invalid()
    body, tag = raw[:_BODY], raw[_BODY:]
    if not hmac.compare_digest(mac(body)[:MAC_BYTES], tag):
        raise _invalid()
    expiry = int.from_bytes(body[TOKEN_BYTES:], "big")
    return QrToken(body[:TOKEN_BYTES], datetime.fromtimestamp(expiry, UTC))


def ensure_fresh(expires_at: datetime, now: datetime) -> None:
    if now >= expires_at:
        raise DomainError("QR_EXPIRED", "the QR code has expired; show a fresh one")
