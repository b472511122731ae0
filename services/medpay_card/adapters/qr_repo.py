"""QR tokens (only the token id's hash and its state) and the payment contexts they yield."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters.tables import payment_contexts as ctx_t
from medpay_card.adapters.tables import qr_tokens as qr_t

ISSUED, USED = "ISSUED", "USED"
OPEN = "OPEN"


@dataclass(frozen=True, slots=True)
class PaymentContextRow:
    payment_context_id: str
    token_hash: str
    card_id: str
    insured_id: str
    merchant_id: str
    merchant_kind: str
    caller: str
    request_id: str
    request_hash: bytes
    state: str
    hold_id: str | None
    expires_at: datetime
    created_at: datetime


# statements of every settlement, built once with bound parameters (reused, they stay compiled)
_CONSUME = update(qr_t).where(qr_t.c.token_hash == bindparam("k_token_hash"),
                              qr_t.c.state == ISSUED)
_TOKEN_STATE = select(qr_t.c.state, qr_t.c.card_id).where(
    qr_t.c.token_hash == bindparam("k_token_hash"))
_INSERT_CONTEXT = ctx_t.insert()
_CONTEXT_BY_REQUEST = select(ctx_t).where(ctx_t.c.caller == bindparam("k_caller"),
                                          ctx_t.c.request_id == bindparam("k_request_id"))
_CONTEXT = select(ctx_t).where(ctx_t.c.payment_context_id == bindparam("k_context_id"))
_USE_CONTEXT = update(ctx_t).where(ctx_t.c.payment_context_id == bindparam("k_context_id"),
                                   ctx_t.c.state == OPEN)


def _ctx(row: object) -> PaymentContextRow:
    return PaymentContextRow(**{n: getattr(row, n) for n in PaymentContextRow.__slots__})  # type: ignore[attr-defined]


async def insert_token(session: AsyncSession, token_hash: str, card_id: str,
                       expires_at: datetime, now: datetime) -> None:
    await session.execute(qr_t.insert().values(
        token_hash=token_hash, card_id=card_id, state=ISSUED, expires_at=expires_at,
        created_at=now))


async def consume_token(session: AsyncSession, token_hash: str, now: datetime) -> bool:
    """ISSUED → USED exactly once: True for the one caller whose update changed the row."""
    result = await session.execute(_CONSUME, {"k_token_hash": token_hash, "state": USED,
                                              "used_at": now})
    return result.rowcount == 1  # type: ignore[attr-defined]


async def token_state(session: AsyncSession, token_hash: str) -> tuple[str, str] | None:
    """``(state, card_id)`` of a token, or None when it is unknown."""
    row = (await session.execute(_TOKEN_STATE, {"k_token_hash": token_hash})).first()
    return (row.state, row.card_id) if row else None


async def insert_context(session: AsyncSession, row: PaymentContextRow) -> None:
    await session.execute(_INSERT_CONTEXT, {n: getattr(row, n) for n in PaymentContextRow.__slots__})  # type: ignore[attr-defined]


async def context_by_request(session: AsyncSession, caller: str,
                             request_id: str) -> PaymentContextRow | None:
    row = (await session.execute(_CONTEXT_BY_REQUEST,
                                 {"k_caller": caller, "k_request_id": request_id})).first()
    return _ctx(row) if row else None


async def get_context(session: AsyncSession, payment_context_id: str) -> PaymentContextRow | None:
    row = (await session.execute(_CONTEXT, {"k_context_id": payment_context_id})).first()
    return _ctx(row) if row else None


async def use_context(session: AsyncSession, payment_context_id: str, hold_id: str) -> bool:
    """OPEN → USED by one authorization; False when another one got there first."""
    result = await session.execute(_USE_CONTEXT, {"k_context_id": payment_context_id,
                                                  "state": USED, "hold_id": hold_id})
    return result.rowcount == 1  # type: ignore[attr-defined]
