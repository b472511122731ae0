"""Repository of settlements, their refunds and channel payments (never commits).

Updates of a PENDING settlement or refund are fenced by its lease: they apply only while
``lease_owner`` is the caller's, so a driver that lost its lease to recovery stops.

The statements of every settlement are built once with bound parameters: reused, a
statement keeps its cache key and compiled form. An UPDATE without ``values()`` sets the
columns given when it is executed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Row, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_pharmacy.adapters.tables import channel_payments, refunds, settlements
from medpay_pharmacy.domain.settlement import Status

S, R, P = settlements.c, refunds.c, channel_payments.c

_ADD_SETTLEMENT = settlements.insert().returning(*settlements.c)
_BY_REQUEST = select(settlements).where(S.institution_code == bindparam("k_code"),
                                        S.request_id == bindparam("k_request_id"))
_PAYING_WITH = select(S.settlement_id).where(
    S.institution_code == bindparam("k_code"), S.created_at >= bindparam("k_since"),
    S.payment_context_id == bindparam("k_context_id"),
    or_(S.status != Status.FAILED.value, S.hold_id != "")).limit(1)
_BY_ID = select(settlements).where(S.settlement_id == bindparam("k_settlement_id"))
_BY_ID_AT = _BY_ID.where(S.institution_code == bindparam("k_code"))
_UPDATE = update(settlements).where(S.settlement_id == bindparam("k_settlement_id"))
_UPDATE_FENCED = _UPDATE.where(S.lease_owner == bindparam("k_owner"))
_SAVE = _UPDATE_FENCED.returning(*settlements.c)
_REFUNDS_OF = select(refunds).where(R.settlement_id.in_(bindparam("k_ids", expanding=True))
                                    ).order_by(R.created_at, R.refund_id)
_ADD_PAYMENT = channel_payments.insert()
_PAYMENT = select(channel_payments).where(P.transaction_id == bindparam("k_transaction_id"))
_UPDATE_PAYMENT = update(channel_payments).where(
    P.transaction_id == bindparam("k_transaction_id"))


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def add_settlement(session: AsyncSession, **values: object) -> Row:
    """Insert a settlement and hand back the stored row (RETURNING: no second read)."""
    return (await session.execute(_ADD_SETTLEMENT, values)).one()


async def settlement_by_request(session: AsyncSession, code: str, request_id: str) -> Row | None:
    return (await session.execute(_BY_REQUEST, {"k_code": code,
                                                "k_request_id": request_id})).first()


async def paying_with(session: AsyncSession, code: str, context_id: str,
                      since: datetime) -> str | None:
    """A settlement of this pharmacy created since ``since`` that holds, or held, this
    payment context at the issuer: any but one that failed before a hold was placed."""
    return (await session.execute(_PAYING_WITH, {"k_code": code, "k_since": since,
                                                 "k_context_id": context_id})).scalar()


async def settlement_by_id(session: AsyncSession, settlement_id: str,
                           code: str | None = None) -> Row | None:
    if code is None:
        return (await session.execute(_BY_ID, {"k_settlement_id": settlement_id})).first()
    return (await session.execute(_BY_ID_AT, {"k_settlement_id": settlement_id,
                                              "k_code": code})).first()


async def update_settlement(session: AsyncSession, settlement_id: str, owner: str | None,
                            **values: object) -> bool:
    """Apply ``values``; with an ``owner``, only while that owner holds the lease."""
    if owner is None:
        result = await session.execute(_UPDATE, {"k_settlement_id": settlement_id, **values})
    else:
        result = await session.execute(_UPDATE_FENCED, {"k_settlement_id": settlement_id,
                                                         "k_owner": owner, **values})
    return result.rowcount == 1


async def save_settlement(session: AsyncSession, settlement_id: str, owner: str,
                          **values: object) -> Row | None:
    """``update_settlement`` fenced by the lease, returning the updated row (None: lease lost)."""
    return (await session.execute(_SAVE, {"k_settlement_id": settlement_id, "k_owner": owner,
                                          **values})).first()


async def claim_settlement(session: AsyncSession, settlement_id: str, owner: str,
                           now: datetime, until: datetime) -> bool:
    """Take the lease of a PENDING settlement whose lease has run out."""
    result = await session.execute(update(settlements).where(
        S.settlement_id == settlement_id, S.status == "PENDING", S.lease_until < now)
        .values(lease_owner=owner, lease_until=until))
    return result.rowcount == 1


async def stale_pending(session: AsyncSession, table_name: str, now: datetime,
                        limit: int) -> list[str]:
    table = settlements if table_name == "settlements" else refunds
    key = table.c.settlement_id if table is settlements else table.c.refund_id
    rows = (await session.execute(select(key).where(
        table.c.status == "PENDING", table.c.lease_until < now)
        .order_by(table.c.lease_until).limit(limit))).all()
    return [row[0] for row in rows]




def _newest_first(table_created, table_key, after: list[str] | None):  # type: ignore[no-untyped-def]
    if after is None:
        return None
    at = datetime.fromisoformat(after[0])
    return or_(table_created < at, and_(table_created == at, table_key < after[1]))


async def list_settlements(session: AsyncSession, code: str, *, business_date: str,
                           terminal_id: str, status: str, after: list[str] | None,
                           limit: int) -> list[Row]:
    query = select(settlements).where(S.institution_code == code)
    if business_date:
        query = query.where(S.business_date == business_date)
    if terminal_id:
        query = query.where(S.terminal_id == terminal_id)
    if status:
        query = query.where(S.status == status)
    cursor = _newest_first(S.created_at, S.settlement_id, after)
    if cursor is not None:
        query = query.where(cursor)
    return list((await session.execute(
        query.order_by(S.created_at.desc(), S.settlement_id.desc()).limit(limit))).all())


async def add_refund(session: AsyncSession, **values: object) -> None:
    await session.execute(refunds.insert().values(**values))


async def refund_by_request(session: AsyncSession, code: str, request_id: str) -> Row | None:
    return (await session.execute(select(refunds).where(
        R.institution_code == code, R.request_id == request_id))).first()


async def refund_by_id(session: AsyncSession, refund_id: str) -> Row | None:
    return (await session.execute(select(refunds).where(R.refund_id == refund_id))).first()


async def refunds_of(session: AsyncSession, settlement_ids: Sequence[str]) -> list[Row]:
    if not settlement_ids:
        return []
    return list((await session.execute(_REFUNDS_OF, {"k_ids": list(settlement_ids)})).all())


async def update_refund(session: AsyncSession, refund_id: str, owner: str | None,
                        **values: object) -> bool:
    query = update(refunds).where(R.refund_id == refund_id)
    if owner is not None:
        query = query.where(R.lease_owner == owner)
    return (await session.execute(query.values(**values))).rowcount == 1


async def claim_refund(session: AsyncSession, refund_id: str, owner: str, now: datetime,
                       until: datetime) -> bool:
    result = await session.execute(update(refunds).where(
        R.refund_id == refund_id, R.status == "PENDING", R.lease_until < now)
        .values(lease_owner=owner, lease_until=until))
    return result.rowcount == 1


async def booked_on(session: AsyncSession, code: str, business_date: str,
                    insurance_type: int) -> list[Row]:
    """Settlements the issuer booked on that date (forward rows)."""
    return list((await session.execute(select(settlements).where(
        S.institution_code == code, S.business_date == business_date,
        S.insurance_type == insurance_type,
        S.status.notin_(["PENDING", "FAILED"])).order_by(S.settlement_id))).all())


async def refunded_on(session: AsyncSession, code: str, business_date: str,
                      insurance_type: int) -> list[Row]:
    """Completed refunds counted on that date (reverse rows), with the settlement's msgid."""
    return list((await session.execute(
        select(refunds, S.request_id.label("settle_request_id"))
        .join(settlements, S.settlement_id == R.settlement_id)
        .where(R.institution_code == code, R.business_date == business_date,
               R.status == "COMPLETED", S.insurance_type == insurance_type)
        .order_by(R.refund_id))).all())


async def add_payment(session: AsyncSession, **values: object) -> None:
    await session.execute(_ADD_PAYMENT, values)


async def payment(session: AsyncSession, transaction_id: str) -> Row | None:
    return (await session.execute(_PAYMENT, {"k_transaction_id": transaction_id})).first()


async def update_payment(session: AsyncSession, transaction_id: str, **values: object) -> None:
    await session.execute(_UPDATE_PAYMENT, {"k_transaction_id": transaction_id, **values})


async def list_payments(session: AsyncSession, *, code: str, business_date: str,
                        settlement_id: str, status: str, after: list[str] | None,
                        limit: int) -> list[Row]:
    query = select(channel_payments)
    for column, value in ((P.institution_code, code), (P.business_date, business_date),
                          (P.settlement_id, settlement_id), (P.status, status)):
        if value:
            query = query.where(column == value)
    cursor = _newest_first(P.created_at, P.transaction_id, after)
    if cursor is not None:
        query = query.where(cursor)
    return list((await session.execute(
        query.order_by(P.created_at.desc(), P.transaction_id.desc()).limit(limit))).all())
