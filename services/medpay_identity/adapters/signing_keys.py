"""Ed25519 keys that sign identity assertions, kept in the database.

The private key is stored encrypted by the keyring (bound to its key id); the public key
in the clear, to be published. Exactly one key is active (a partial unique index holds
that even when two replicas start together); rotated keys stay published while an
assertion they signed could still be unexpired.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import signing_keys
from medpay_kit.db import Database
from medpay_kit.keyring import Keyring

ALGORITHM = "Ed25519"
_RAW = serialization.Encoding.Raw


@dataclass(frozen=True, slots=True)
class PublishedKey:
    key_id: str
    public_key: bytes
    created_at: datetime
    active: bool


class SigningKeyRepository:
    def __init__(self, keyring: Keyring, publish_after_retirement: timedelta) -> None:
        self._keyring = keyring
        self._grace = publish_after_retirement

    async def ensure_active(self, db: Database, now: datetime) -> str:
        """The active key id, creating the first key when there is none (at start-up)."""
        for _ in range(3):
            try:
                async with db.write() as session:
                    return await self._active_id(session) or await self._create(session, now)
            except IntegrityError:
                continue  # another replica created it first: read it next time round
        raise RuntimeError("could not create the first signing key")

    async def active(self, session: AsyncSession) -> tuple[str, Ed25519PrivateKey]:
        row = (await session.execute(
            select(signing_keys.c.key_id, signing_keys.c.private_key_enc)
            .where(signing_keys.c.active.is_(True)))).one()
        raw = self._keyring.decrypt(row.private_key_enc, _context(row.key_id))
        return row.key_id, Ed25519PrivateKey.from_private_bytes(raw)

    async def rotate(self, session: AsyncSession, now: datetime) -> tuple[str, str]:
        """Retire the active key and create a new one; ``(new id, previous id)``."""
        previous = await self._active_id(session)
        await session.execute(update(signing_keys).where(signing_keys.c.active.is_(True))
                              .values(active=False, retired_at=now))
        return await self._create(session, now), previous or ""

    async def published(self, session: AsyncSession, now: datetime) -> list[PublishedKey]:
        """The active key and every retired key that may still verify a live assertion."""
        rows = (await session.execute(
            select(signing_keys.c.key_id, signing_keys.c.public_key, signing_keys.c.created_at,
                   signing_keys.c.active)
            .where(or_(signing_keys.c.active.is_(True), signing_keys.c.retired_at > now - self._grace))
            .order_by(signing_keys.c.created_at.desc()))).all()
        return [PublishedKey(r.key_id, r.public_key, r.created_at, r.active) for r in rows]

    async def public_keys(self, session: AsyncSession, now: datetime) -> dict[str, Ed25519PublicKey]:
        return {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key)
                for k in await self.published(session, now)}

    async def _active_id(self, session: AsyncSession) -> str | None:
        return (await session.execute(
            select(signing_keys.c.key_id).where(signing_keys.c.active.is_(True)))).scalar_one_or_none()

    async def _create(self, session: AsyncSession, now: datetime) -> str:
        key = Ed25519PrivateKey.generate()
        key_id = f"sk-{now:%Y%m%d}-{secrets.token_hex(4)}"
        raw_private = key.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
        await session.execute(signing_keys.insert().values(
            key_id=key_id, algorithm=ALGORITHM,
            public_key=key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw),
            private_key_enc=self._keyring.encrypt(raw_private, _context(key_id)),
            active=True, created_at=now))
        return key_id


def _context(key_id: str) -> bytes:
    return f"signing-key:{key_id}".encode()
