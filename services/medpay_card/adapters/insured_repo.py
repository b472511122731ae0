"""Insured persons: personal data encrypted under a key id, found by keyed hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import insured_persons as t
from medpay_kit.keyring import Keyring
from medpay_kit.personal import mask_name


@dataclass(frozen=True, slots=True)
class Insured:
    insured_id: str
    region_code: str
    insurance_types: tuple[int, ...]
    person_type: str
    status: str
    identity_person_id: str | None
    name_enc: bytes


@dataclass(frozen=True, slots=True)
class InsuredRecord:
    """What ImportInsured writes (personal values in the clear, only in memory)."""

    person_number: str
    id_number: str
    name: str
    region_code: str
    insurance_types: tuple[int, ...]
    person_type: str
    status: str
    identity_person_id: str | None


class PersonalData:
    """Encryption and look-up hashes of the personal values the card service keeps."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def person_number_hash(self, person_number: str) -> str:
        return self._keyring.lookup_hash(f"person_number:{person_number}")

    def id_number_hash(self, id_number: str) -> str:
        return self._keyring.lookup_hash(f"id_number:{id_number}")

    def seal(self, insured_id: str, field: str, value: str) -> bytes:
        return self._keyring.encrypt(value.encode(), f"insured:{insured_id}:{field}".encode())

    def open(self, insured_id: str, field: str, blob: bytes) -> str:
        return self._keyring.decrypt(blob, f"insured:{insured_id}:{field}".encode()).decode()

    def masked_name(self, insured: Insured) -> str:
        return mask_name(self.open(insured.insured_id, "name", insured.name_enc))

    @property
    def active_key_id(self) -> str:
        return self._keyring.active


def _row(row: object) -> Insured:
    return Insured(
        insured_id=row.insured_id,  # type: ignore[attr-defined]
        region_code=row.region_code,  # type: ignore[attr-defined]
        insurance_types=tuple(int(x) for x in row.insurance_types.split(",")),  # type: ignore[attr-defined]
        person_type=row.person_type,  # type: ignore[attr-defined]
        status=row.status,  # type: ignore[attr-defined]
        identity_person_id=row.identity_person_id,  # type: ignore[attr-defined]
        name_enc=row.name_enc,  # type: ignore[attr-defined]
    )


_COLUMNS = (t.c.insured_id, t.c.region_code, t.c.insurance_types, t.c.person_type, t.c.status,
            t.c.identity_person_id, t.c.name_enc)
_GET = select(*_COLUMNS).where(t.c.insured_id == bindparam("k_insured_id"))  # stays compiled


async def get(session: AsyncSession, insured_id: str) -> Insured | None:
    row = (await session.execute(_GET, {"k_insured_id": insured_id})).first()
    return _row(row) if row else None


async def get_by_number_hash(session: AsyncSession, number_hash: str) -> Insured | None:
    row = (await session.execute(
        select(*_COLUMNS).where(t.c.person_number_hash == number_hash))).first()
    return _row(row) if row else None


def _values(pd: PersonalData, insured_id: str, rec: InsuredRecord) -> dict[str, object]:
    return {
        "person_number_hash": pd.person_number_hash(rec.person_number),
        "id_number_hash": pd.id_number_hash(rec.id_number),
        "person_number_enc": pd.seal(insured_id, "person_number", rec.person_number),
        "id_number_enc": pd.seal(insured_id, "id_number", rec.id_number),
        "name_enc": pd.seal(insured_id, "name", rec.name),
        "key_id": pd.active_key_id,
        "region_code": rec.region_code,
        "insurance_types": ",".join(str(x) for x in rec.insurance_types),
        "person_type": rec.person_type,
        "status": rec.status,
    }


async def insert(session: AsyncSession, pd: PersonalData, insured_id: str, rec: InsuredRecord,
                 now: datetime) -> None:
    await session.execute(t.insert().values(
        insured_id=insured_id, identity_person_id=rec.identity_person_id or None,
        created_at=now, updated_at=now, **_values(pd, insured_id, rec)))


async def update_record(session: AsyncSession, pd: PersonalData, insured_id: str,
                        rec: InsuredRecord, now: datetime) -> None:
    """Re-import: every value is re-encrypted under the active key (a rotation step)."""
    values = _values(pd, insured_id, rec)
    if rec.identity_person_id:
        values["identity_person_id"] = rec.identity_person_id
    await session.execute(update(t).where(t.c.insured_id == insured_id)
                          .values(updated_at=now, **values))
