"""Keys for personal data at rest: encryption with a key id (so keys rotate) and keyed hashes.

A keyring file (JSON, mode 0600) holds named 256-bit keys and which one is active:
``{"active": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}, "lookup": "<base64>"}``.
New data is encrypted with the active key (AES-256-GCM); the key id travels in front of
the ciphertext, so data written under an older key still decrypts after a rotation.
Look-ups use an HMAC-SHA256 of the value under the separate, stable ``lookup`` key, so a
record can be found by ID number without storing the ID number in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Keyring:
    def __init__(self, active: str, keys: dict[str, bytes], lookup: bytes) -> None:
        if active not in keys:
            raise ValueError("the active key is not in the keyring")
        self.active = active
        self._keys = keys
        self._lookup = lookup

    @classmethod
    def load_or_create(cls, path: Path) -> Keyring:
        """Read the keyring; create one with a first key when the file does not exist."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"active": "k1", "keys": {"k1": _key()}, "lookup": _key()}, out)
        data = json.loads(path.read_text())
        return cls(data["active"], {k: base64.b64decode(v) for k, v in data["keys"].items()},
                   base64.b64decode(data["lookup"]))

    @staticmethod
    def rotate(path: Path) -> str:
        """Add a new key and make it active; returns its id. Old keys stay for decryption."""
        data = json.loads(path.read_text())
        new_id = f"k{len(data['keys']) + 1}"
        data["keys"][new_id] = _key()
        data["active"] = new_id
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        tmp.replace(path)
        return new_id

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        """``<key id>:<nonce><ciphertext+tag>``; ``context`` is bound as associated data."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._keys[self.active]).encrypt(nonce, plaintext, context)
        return self.active.encode() + b":" + nonce + sealed

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        key_id, _, rest = blob.partition(b":")
        key = self._keys[key_id.decode()]
        return AESGCM(key).decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], context)

    def key_id_of(self, blob: bytes) -> str:
        return blob.partition(b":")[0].decode()

    def lookup_hash(self, value: str) -> str:
        """A keyed hash for finding a record by a personal value (hex, 64 chars)."""
        return hmac.new(self._lookup, value.encode(), hashlib.sha256).hexdigest()

    def mac(self, purpose: str, data: bytes) -> bytes:
        """An HMAC under a key derived for ``purpose`` (e.g. signing QR payloads)."""
        derived = hmac.new(self._lookup, f"mac:{purpose}".encode(), hashlib.sha256).digest()
        return hmac.new(derived, data, hashlib.sha256).digest()
