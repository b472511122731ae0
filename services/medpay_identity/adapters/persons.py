"""Persons and their face templates, encrypted with the keyring.

The person row and the template row are separate tables; each ciphertext is bound to its
row (AES-GCM associated data), so a blob copied onto another person does not decrypt.
A template is the embedding packed as 128 little-endian doubles, never a photo.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_identity.adapters.tables import face_templates, persons
from medpay_identity.domain.face import EMBEDDING_SIZE
from medpay_kit.keyring import Keyring
from medpay_kit.personal import mask_name

_PACK = struct.Struct(f"<{EMBEDDING_SIZE}d")
ENGINE_NAME = "dlib-resnet-v1"


@dataclass(frozen=True, slots=True)
class PersonRecord:
    person_id: str
    masked_name: str
    enrolled_at: datetime | None


class PersonRepository:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def lookup_hash(self, id_number: str) -> str:
        return self._keyring.lookup_hash(f"id-number:{id_number}")

    def stand_in_id(self, id_number: str) -> str:
        """A person id for an ID number nobody is enrolled under: stable (so its sessions,
        failures and lockouts add up like a real person's), shaped like a real one, and
        never the id of an enrolled person (those are random)."""
        return f"per_{self._keyring.lookup_hash(f'stand-in:{id_number}')[:32]}"

    async def find_id(self, session: AsyncSession, id_number: str) -> str | None:
        """The person id enrolled under a (normalised) ID number, if any."""
        return (await session.execute(
            select(persons.c.person_id).where(persons.c.id_hash == self.lookup_hash(id_number))
        )).scalar_one_or_none()

    async def exists(self, session: AsyncSession, person_id: str) -> bool:
        row = await session.execute(select(persons.c.person_id).where(persons.c.person_id == person_id))
        return row.first() is not None

    async def add(self, session: AsyncSession, person_id: str, id_number: str, name: str,
                  consent_ref: str, consent_at: datetime, now: datetime) -> None:
        await session.execute(persons.insert().values(
            person_id=person_id, id_hash=self.lookup_hash(id_number),
            id_number_enc=self._seal(id_number, b"id-number", person_id),
            name_enc=self._seal(name, b"name", person_id),
            consent_ref=consent_ref, consent_at=consent_at, created_at=now, updated_at=now))

    async def update(self, session: AsyncSession, person_id: str, name: str, consent_ref: str,
                     consent_at: datetime, now: datetime) -> None:
        await session.execute(update(persons).where(persons.c.person_id == person_id).values(
            name_enc=self._seal(name, b"name", person_id), consent_ref=consent_ref,
            consent_at=consent_at, updated_at=now))

    async def put_template(self, session: AsyncSession, person_id: str,
                           embedding: tuple[float, ...], now: datetime) -> bool:
        """Store (or replace) the person's template; True when one was replaced."""
        sealed = self._keyring.encrypt(_PACK.pack(*embedding), _context(b"template", person_id))
        values = dict(template_enc=sealed, key_id=self._keyring.key_id_of(sealed),
                      engine=ENGINE_NAME, enrolled_at=now)
        done = await session.execute(
            update(face_templates).where(face_templates.c.person_id == person_id)
            .values(version=face_templates.c.version + 1, **values))
        if done.rowcount:
            return True
        await session.execute(face_templates.insert().values(person_id=person_id, version=1, **values))
        return False

    async def template(self, session: AsyncSession, person_id: str) -> tuple[float, ...] | None:
        sealed = (await session.execute(
            select(face_templates.c.template_enc).where(face_templates.c.person_id == person_id)
        )).scalar_one_or_none()
        if sealed is None:
            return None
        return _PACK.unpack(self._keyring.decrypt(sealed, _context(b"template", person_id)))

    async def get(self, session: AsyncSession, person_id: str) -> PersonRecord | None:
        row = (await session.execute(
            select(persons.c.name_enc, face_templates.c.enrolled_at)
            .select_from(persons.outerjoin(face_templates))
            .where(persons.c.person_id == person_id)
        )).first()
        if row is None:
            return None
        name = self._keyring.decrypt(row.name_enc, _context(b"name", person_id)).decode()
        return PersonRecord(person_id, mask_name(name), row.enrolled_at)

    def _seal(self, value: str, what: bytes, person_id: str) -> bytes:
        return self._keyring.encrypt(value.encode(), _context(what, person_id))


def _context(what: bytes, person_id: str) -> bytes:
    return what + b":" + person_id.encode()

