"""Loading objects within the caller's scope: a HIS sees its hospital, an app its card.

An object outside the scope is reported exactly like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_billing.adapters.tables import agreements, bills, charge_lines, hospitals, visits
from medpay_billing.usecases.deps import hospital_of
from medpay_kit.auth import Caller, CallerKind
from medpay_kit.errors import DomainError

V, L, B = visits.c, charge_lines.c, bills.c
__all__ = ["hospital_of"]  # a subject rule of medpay_billing.access, defined with the deps


def own_card(caller: Caller, card_id: str) -> bool:
    """own_card: an app's object (agreement, appointment, bill) belongs to its own card."""
    return caller.kind is CallerKind.APP and bool(caller.scope) and card_id == caller.scope


async def visit_for(session: AsyncSession, caller: Caller, visit_id: str) -> Row:
    row = None
    if visit_id and len(visit_id) <= 40:
        row = (await session.execute(select(visits).where(V.visit_id == visit_id))).first()
    if row is None or (caller.kind is CallerKind.HIS and row.institution_code != caller.scope):
        raise DomainError("VISIT_NOT_FOUND", "no visit with that id at this hospital")
    return row


def bill_visible(caller: Caller, row: Row | None) -> bool:
    if row is None:
        return False
    if caller.kind is CallerKind.HIS:
        return row.institution_code == caller.scope
    if caller.kind is CallerKind.APP:
        return own_card(caller, row.card_id)
    return True


async def bill_for(session: AsyncSession, caller: Caller, bill_id: str) -> Row:
    row = None
    if bill_id and len(bill_id) <= 40:
        row = (await session.execute(select(bills).where(B.bill_id == bill_id))).first()
    if not bill_visible(caller, row):
        raise DomainError("BILL_NOT_FOUND", "no bill with that id for this caller")
    return row  # type: ignore[return-value]


async def live_lines(session: AsyncSession, visit_id: str) -> list[Row]:
    """The visit's lines that are charged (not withdrawn), in line order."""
    return list((await session.execute(select(charge_lines).where(
        L.visit_id == visit_id, L.cancelled.is_(False)).order_by(L.line_no))).all())


async def all_lines(session: AsyncSession, visit_id: str) -> list[Row]:
    return list((await session.execute(select(charge_lines).where(
        L.visit_id == visit_id).order_by(L.line_no))).all())


async def bill_line_map(session: AsyncSession, visit_id: str) -> list[tuple[int, str]]:
    return [(r.line_no, r.his_line_id) for r in await live_lines(session, visit_id)]


async def agreement_row(session: AsyncSession, agreement_id: str, *, lock: bool = False) -> Row:
    """The agreement; ``lock`` holds its row until commit (PostgreSQL; SQLite has one writer)."""
    query = select(agreements).where(agreements.c.agreement_id == agreement_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).one()


async def hospital_of_visit(session: AsyncSession, code: str) -> Row:
    return (await session.execute(select(hospitals).where(
        hospitals.c.institution_code == code))).one()
