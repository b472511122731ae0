"""Yearly benefit counters per person, year, scheme and medical type.

A counter keeps what was *used* (captured) and what is *held* by open authorizations, for
the deductible and for the pooled fund. Authorizations adjudicate against used + held, so
two settlements at the same instant can never together pass the yearly cap. Changes are
guarded updates (never below zero, never above the cap or deductible the claim relied on);
callers hold the person's account lock, so the guards are the second line of defence.

Statements are built once with bound parameters (the hot path of every settlement): a
statement object that is reused keeps its cache key and compiled form.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Integer, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import benefit_counters as t
from medpay_kit.errors import DomainError


@dataclass(frozen=True, slots=True)
class CounterKey:
    insured_id: str
    year: int
    insurance_type: int
    medical_type: str


@dataclass(frozen=True, slots=True)
class Counter:
    deductible_used: int = 0
    deductible_held: int = 0
    pooled_paid: int = 0
    pooled_held: int = 0


_KEY = (t.c.insured_id == bindparam("k_insured_id"), t.c.year == bindparam("k_year"),
        t.c.insurance_type == bindparam("k_insurance_type"),
        t.c.medical_type == bindparam("k_medical_type"))
_READ = select(t.c.deductible_used, t.c.deductible_held, t.c.pooled_paid,
               t.c.pooled_held).where(*_KEY)
_EXISTS = select(t.c.year).where(*_KEY)
_INSERT = t.insert()


def _key(key: CounterKey) -> dict[str, object]:
    return {"k_insured_id": key.insured_id, "k_year": key.year,
            "k_insurance_type": key.insurance_type, "k_medical_type": key.medical_type}


@cache
def _guarded(with_limit: bool, with_cap: bool) -> Update:
    used, held, paid, pooled_held = (bindparam(name, type_=Integer) for name in (
        "d_used", "d_held", "d_paid", "d_pooled_held"))
    guards = [t.c.deductible_used + used >= 0, t.c.deductible_held + held >= 0,
              t.c.pooled_paid + paid >= 0, t.c.pooled_held + pooled_held >= 0]
    if with_limit:
        guards.append(t.c.deductible_used + t.c.deductible_held + used + held
                      <= bindparam("deductible_limit", type_=Integer))
    if with_cap:
        guards.append(t.c.pooled_paid + t.c.pooled_held + paid + pooled_held
                      <= bindparam("yearly_cap", type_=Integer))
    return (update(t).where(*_KEY, *guards)
            .values(deductible_used=t.c.deductible_used + used,
                    deductible_held=t.c.deductible_held + held,
                    pooled_paid=t.c.pooled_paid + paid, pooled_held=t.c.pooled_held + pooled_held))


async def read(session: AsyncSession, key: CounterKey) -> Counter:
    row = (await session.execute(_READ, _key(key))).first()
    return Counter(*row) if row else Counter()


async def list_year(session: AsyncSession, insured_id: str, year: int) -> list[object]:
    return list((await session.execute(
        select(t).where(t.c.insured_id == insured_id, t.c.year == year)
        .order_by(t.c.insurance_type, t.c.medical_type))).all())


async def change(session: AsyncSession, key: CounterKey, *, used: int = 0, held: int = 0,
                 paid: int = 0, pooled_held: int = 0, deductible_limit: int | None = None,
                 yearly_cap: int | None = None) -> None:
    """Add the (signed) changes; refuse with YEARLY_CAP_CONFLICT if a guard does not hold."""
    if not (used or held or paid or pooled_held):
        return
    guarded = _guarded(deductible_limit is not None, yearly_cap is not None)
    params = {**_key(key), "d_used": used, "d_held": held, "d_paid": paid,
              "d_pooled_held": pooled_held}
    if deductible_limit is not None:
        params["deductible_limit"] = deductible_limit
    if yearly_cap is not None:
        params["yearly_cap"] = yearly_cap
    result = await session.execute(guarded, params)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # the person's first claim of the year in this group has no row yet: create it at
        # zero and apply the same guarded update (a row that exists failed a guard)
        exists = (await session.execute(_EXISTS, _key(key))).first()
        if exists is None:
            await session.execute(_INSERT, {
                "insured_id": key.insured_id, "year": key.year,
                "insurance_type": key.insurance_type, "medical_type": key.medical_type,
                "deductible_used": 0, "deductible_held": 0, "pooled_paid": 0, "pooled_held": 0})
            result = await session.execute(guarded, params)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError("YEARLY_CAP_CONFLICT",
                          "a concurrent settlement used the yearly cap or deductible; pre-settle again")
