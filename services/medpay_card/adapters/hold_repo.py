"""Holds, refunds and the append-only settlement rows used for daily totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import holds as t
from medpay_card.adapters.tables import refunds as refunds_t
from medpay_card.adapters.tables import settlement_rows as rows_t
from medpay_card.domain.holds import AUTHORIZED


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    caller: str
    request_id: str
    insured_id: str
    card_id: str
    merchant_id: str
    payment_context_id: str | None
    acquirer_reference: str
    insurance_type: int
    medical_type: str
    year: int
    state: str
    claim: dict[str, Any]
    deductible: int
    fund_pay: int
    account_pay: int
    cash_pay: int
    total: int
    refund_state: dict[str, Any] | None
    issuer_reference: str | None
    balance_after_capture: int | None
    created_at: datetime
    expires_at: datetime
    captured_at: datetime | None
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class SettlementRow:
    caller: str
    merchant_id: str
    business_date: date
    insurance_type: int
    hold_id: str
    acquirer_reference: str
    refund: bool
    refund_id: str
    total: int
    fund_pay: int
    account_pay: int
    cash_pay: int
    at: datetime


# a settlement's statements, built once with bound parameters (reused, they stay compiled)
_INSERT = t.insert()
_GET = select(t).where(t.c.hold_id == bindparam("k_hold_id"), t.c.caller == bindparam("k_caller"))
_TRANSITION = update(t).where(t.c.hold_id == bindparam("k_hold_id"),
                              t.c.state == bindparam("k_expected"))  # SET: the values given
_ADD_ROW = rows_t.insert()


def _hold(row: object) -> Hold:
    return Hold(**{n: getattr(row, n) for n in Hold.__slots__})  # type: ignore[attr-defined]


async def insert(session: AsyncSession, hold: Hold) -> None:
    await session.execute(_INSERT, {n: getattr(hold, n) for n in Hold.__slots__})  # type: ignore[attr-defined]


async def get(session: AsyncSession, hold_id: str, caller: str) -> Hold | None:
    """A hold of this caller (another caller's hold is not found)."""
    row = (await session.execute(_GET, {"k_hold_id": hold_id, "k_caller": caller})).first()
    return _hold(row) if row else None


async def transition(session: AsyncSession, hold_id: str, *, expected: str,
                     **values: object) -> bool:
    result = await session.execute(_TRANSITION,
                                   {"k_hold_id": hold_id, "k_expected": expected, **values})
    return result.rowcount == 1  # type: ignore[attr-defined]


async def set_refund_state(session: AsyncSession, hold_id: str, state: dict[str, Any]) -> None:
    await session.execute(update(t).where(t.c.hold_id == hold_id).values(refund_state=state))


async def expired(session: AsyncSession, now: datetime, limit: int) -> list[tuple[str, str, str]]:
    """``(hold_id, caller, insured_id)`` of authorized holds past their expiry."""
    rows = await session.execute(
        select(t.c.hold_id, t.c.caller, t.c.insured_id)
        .where(t.c.state == AUTHORIZED, t.c.expires_at <= now)
        .order_by(t.c.expires_at).limit(limit))
    return [(r.hold_id, r.caller, r.insured_id) for r in rows.all()]


async def insert_refund(session: AsyncSession, *, refund_id: str, hold_id: str, caller: str,
                        request_id: str, kind: str, parts: dict[str, Any], balance_after: int,
                        now: datetime) -> None:
    await session.execute(refunds_t.insert().values(
        refund_id=refund_id, hold_id=hold_id, caller=caller, request_id=request_id, kind=kind,
        parts=parts, balance_after=balance_after, refunded_at=now))


async def add_settlement_row(session: AsyncSession, row: SettlementRow) -> None:
    await session.execute(_ADD_ROW, {n: getattr(row, n) for n in SettlementRow.__slots__})  # type: ignore[attr-defined]


def _day_filter(caller: str, merchant_id: str, day: date, insurance_type: int | None) -> list[Any]:
    where = [rows_t.c.caller == caller, rows_t.c.merchant_id == merchant_id,
             rows_t.c.business_date == day]
    if insurance_type is not None:
        where.append(rows_t.c.insurance_type == insurance_type)
    return where


async def day_totals(session: AsyncSession, caller: str, merchant_id: str, day: date,
                     insurance_type: int | None) -> tuple[int, int, int, int, int]:
    """``(count, total, fund, account, cash)`` net of refunds."""
    row = (await session.execute(select(
        func.count(), func.coalesce(func.sum(rows_t.c.total), 0),
        func.coalesce(func.sum(rows_t.c.fund_pay), 0),
        func.coalesce(func.sum(rows_t.c.account_pay), 0),
        func.coalesce(func.sum(rows_t.c.cash_pay), 0),
    ).where(*_day_filter(caller, merchant_id, day, insurance_type)))).one()
    return tuple(int(x) for x in row)  # type: ignore[return-value]


async def day_rows(session: AsyncSession, caller: str, merchant_id: str, day: date,
                   insurance_type: int | None) -> list[Any]:
    return list((await session.execute(
        select(rows_t).where(*_day_filter(caller, merchant_id, day, insurance_type))
        .order_by(rows_t.c.row_no))).all())
