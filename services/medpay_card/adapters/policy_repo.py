"""Benefit policy versions in the database (immutable once stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import policies as t
from medpay_card.domain.policy import BenefitPolicy

_FIELDS = ("policy_id", "version", "region_code", "insurance_type", "medical_type",
           "institution_level", "person_type", "effective_from", "effective_to", "deductible",
           "deductible_scope", "fund_ratio_bp", "yearly_cap", "pooling",
           "account_may_pay_out_of_scope")


# every claim's lookup, built once with bound parameters (reused, it stays compiled)
_FOR_COMBINATION = select(t).where(
    t.c.region_code == bindparam("k_region"), t.c.insurance_type == bindparam("k_insurance_type"),
    t.c.medical_type == bindparam("k_medical_type"),
    t.c.institution_level == bindparam("k_level"), t.c.person_type == bindparam("k_person_type"))


def _policy(row: object) -> BenefitPolicy:
    return BenefitPolicy(**{name: getattr(row, name) for name in _FIELDS})


async def get(session: AsyncSession, policy_id: str, version: int) -> BenefitPolicy | None:
    row = (await session.execute(
        select(t).where(t.c.policy_id == policy_id, t.c.version == version))).first()
    return _policy(row) if row else None


async def insert(session: AsyncSession, policy: BenefitPolicy, *, source: str,
                 now: datetime) -> None:
    await session.execute(t.insert().values(
        source=source, created_at=now, **{name: getattr(policy, name) for name in _FIELDS}))


async def for_combination(session: AsyncSession, region: str, insurance_type: int,
                          medical_type: str, level: str, person_type: str) -> list[BenefitPolicy]:
    rows = await session.execute(_FOR_COMBINATION, {
        "k_region": region, "k_insurance_type": insurance_type, "k_medical_type": medical_type,
        "k_level": level, "k_person_type": person_type})
    return [_policy(row) for row in rows.all()]


async def for_person(session: AsyncSession, region: str, insurance_types: tuple[int, ...],
                     person_type: str) -> list[BenefitPolicy]:
    rows = await session.execute(select(t).where(
        t.c.region_code == region, t.c.insurance_type.in_(insurance_types),
        t.c.person_type == person_type))
    return [_policy(row) for row in rows.all()]


async def page(session: AsyncSession, *, after: tuple[str, int] | None, limit: int,
               region: str | None, insurance_type: int | None,
               medical_type: str | None) -> list[BenefitPolicy]:
    query = select(t).order_by(t.c.policy_id, t.c.version).limit(limit)
    if after is not None:
        query = query.where(or_(t.c.policy_id > after[0],
                                and_(t.c.policy_id == after[0], t.c.version > after[1])))
    if region:
        query = query.where(t.c.region_code == region)
    if insurance_type is not None:
        query = query.where(t.c.insurance_type == insurance_type)
    if medical_type is not None:
        query = query.where(t.c.medical_type == medical_type)
    return [_policy(row) for row in (await session.execute(query)).all()]
