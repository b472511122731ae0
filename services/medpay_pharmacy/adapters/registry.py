"""Repository of pharmacies, terminals, catalogue items and payment contexts (never commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_pharmacy.adapters.tables import catalogue_items, payment_contexts, pharmacies, terminals
from medpay_pharmacy.domain.basket import CatalogueEntry, decimal_text

# the lookups of every sale, built once with bound parameters (reused, they stay compiled)
_PHARMACY = select(pharmacies).where(pharmacies.c.institution_code == bindparam("k_code"))
_TERMINAL = select(terminals).where(terminals.c.terminal_id == bindparam("k_terminal_id"))
_ITEMS = select(catalogue_items).where(
    catalogue_items.c.institution_code == bindparam("k_code"),
    catalogue_items.c.item_code.in_(bindparam("k_item_codes", expanding=True)))
_CONTEXT = select(payment_contexts).where(
    payment_contexts.c.payment_context_id == bindparam("k_context_id"),
    payment_contexts.c.institution_code == bindparam("k_code"))
_LOCK_CONTEXT = _CONTEXT.with_for_update()
_ADD_CONTEXT = payment_contexts.insert()


async def get_pharmacy(session: AsyncSession, code: str) -> Row | None:
    return (await session.execute(_PHARMACY, {"k_code": code})).first()


async def save_pharmacy(session: AsyncSession, code: str, values: dict, now: datetime) -> bool:
    """Insert or update; True when created."""
    if await get_pharmacy(session, code) is None:
        await session.execute(pharmacies.insert().values(
            institution_code=code, registered_at=now, updated_at=now, **values))
        return True
    await session.execute(update(pharmacies).where(pharmacies.c.institution_code == code)
                          .values(updated_at=now, **values))
    return False


async def add_terminal(session: AsyncSession, terminal_id: str, code: str, label: str,
                       secret_hash: str, now: datetime) -> None:
    await session.execute(terminals.insert().values(
        terminal_id=terminal_id, institution_code=code, label=label, secret_hash=secret_hash,
        created_at=now))


async def get_terminal(session: AsyncSession, terminal_id: str) -> Row | None:
    return (await session.execute(_TERMINAL, {"k_terminal_id": terminal_id})).first()


def _entry(row: Row) -> CatalogueEntry:
    return CatalogueEntry(
        item_code=row.item_code, name=row.name, spec=row.spec,
        unit_price=Decimal(row.unit_price),
        price_cap=Decimal(row.price_cap) if row.price_cap else None,
        item_class=row.item_class, pre_self_pay_ratio_bp=row.pre_self_pay_ratio_bp)


async def catalogue_for(session: AsyncSession, code: str,
                        item_codes: Iterable[str]) -> dict[str, CatalogueEntry]:
    wanted = sorted(set(item_codes))
    rows = (await session.execute(_ITEMS, {"k_code": code, "k_item_codes": wanted})
            ).all() if wanted else []
    return {row.item_code: _entry(row) for row in rows}


def _values(entry: CatalogueEntry) -> dict:
    return {"name": entry.name, "spec": entry.spec, "unit_price": decimal_text(entry.unit_price),
            "price_cap": decimal_text(entry.price_cap) if entry.price_cap is not None else "",
            "item_class": entry.item_class, "pre_self_pay_ratio_bp": entry.pre_self_pay_ratio_bp}


async def save_items(session: AsyncSession, code: str, entries: Sequence[CatalogueEntry],
                     now: datetime) -> tuple[int, int, int]:
    """Create or update items; returns (created, updated, unchanged)."""
    existing = await catalogue_for(session, code, (e.item_code for e in entries))
    created = updated = unchanged = 0
    for entry in entries:
        values = _values(entry)
        old = existing.get(entry.item_code)
        if old is None:
            await session.execute(catalogue_items.insert().values(
                institution_code=code, item_code=entry.item_code, updated_at=now, **values))
            created += 1
        elif _values(old) == values:
            unchanged += 1
        else:
            await session.execute(update(catalogue_items).where(
                catalogue_items.c.institution_code == code,
                catalogue_items.c.item_code == entry.item_code).values(updated_at=now, **values))
            updated += 1
    return created, updated, unchanged


async def list_items(session: AsyncSession, code: str, after: str,
                     limit: int) -> list[CatalogueEntry]:
    rows = (await session.execute(
        select(catalogue_items).where(catalogue_items.c.institution_code == code,
                                      catalogue_items.c.item_code > after)
        .order_by(catalogue_items.c.item_code).limit(limit))).all()
    return [_entry(row) for row in rows]


async def save_context(session: AsyncSession, context_id: str, code: str, masked_name: str,
                       insurance_type: int, expires_at: datetime, now: datetime) -> None:
    if await get_context(session, context_id, code) is None:
        await session.execute(_ADD_CONTEXT, {
            "payment_context_id": context_id, "institution_code": code,
            "masked_name": masked_name, "insurance_type": insurance_type,
            "expires_at": expires_at, "created_at": now})


async def get_context(session: AsyncSession, context_id: str, code: str, *,
                      lock: bool = False) -> Row | None:
    """``lock``: held until the transaction ends (a row lock on PostgreSQL; SQLite's one
    writer serializes anyway), so the sales on one payment context queue there."""
    return (await session.execute(_LOCK_CONTEXT if lock else _CONTEXT,
                                  {"k_context_id": context_id, "k_code": code})).first()
