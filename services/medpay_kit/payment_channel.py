"""The payment channel for the self-pay (cash) part, shared by pharmacy and billing.

In the real city this is the person's Alipay; here it is an interface with a **sandbox**
implementation as the embedded default. The sandbox keeps its transactions in a table of
the calling service's database (so they are recorded and queryable like any external
transaction) and behaves by the payer reference, like a provider's test cards:

=========================  ===============================================================
payer reference contains   behaviour
=========================  ===============================================================
``decline``                the charge is declined (nothing charged)
``timeout``                the call times out and nothing was charged
``lost-reply``             the charge IS made but the reply is lost (raises a timeout):
                           a caller must query before deciding, never assume
anything else              approved
=========================  ===============================================================

Every operation is idempotent by its ``reference``: charging or refunding twice with the
same reference returns the first outcome. Refunds never exceed what was charged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_kit.clock import Clock
from medpay_kit.db import Database
from medpay_kit.errors import DomainError


class ChannelStatus(StrEnum):
    CHARGED = "CHARGED"
    DECLINED = "DECLINED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True, slots=True)
class ChannelTransaction:
    reference: str
    transaction_id: str
    kind: str  # CHARGE or REFUND
    status: ChannelStatus
    amount_fen: int
    original_reference: str = ""


class ChannelTimeout(Exception):
    """The channel did not answer: the outcome is unknown until queried."""


class PaymentChannel(Protocol):
    async def charge(self, reference: str, payer_reference: str, amount_fen: int) -> ChannelTransaction:
        """Charge the payer; DECLINED comes back as a transaction, a timeout raises."""

    async def refund(self, reference: str, original_reference: str, amount_fen: int) -> ChannelTransaction:
        """Refund part or all of an earlier charge (never more than is left)."""

    async def query(self, reference: str) -> ChannelTransaction | None:
        """What the channel knows of a reference (None: it never happened)."""


def channel_table(metadata: MetaData) -> Table:
    return Table(
        "channel_transactions", metadata,
        Column("reference", String(128), primary_key=True),
        Column("transaction_id", String(40), nullable=False, unique=True),
        Column("kind", String(10), nullable=False),
        Column("status", String(10), nullable=False),
        Column("amount_fen", Integer, nullable=False),
        Column("original_reference", String(128), nullable=False, default=""),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Index("ix_channel_transactions_original", "original_reference"),
    )


class SandboxChannel:
    """The embedded default channel; see the module docstring for its test behaviours."""

    def __init__(self, db: Database, table: Table, clock: Clock) -> None:
        self._db = db
        self._t = table
        self._clock = clock
        self._by_reference = select(table).where(table.c.reference == bindparam("k_reference"))
        self._add = table.insert()  # both built once: reused, they stay compiled

    async def _get(self, session: AsyncSession, reference: str) -> ChannelTransaction | None:
        row = (await session.execute(self._by_reference, {"k_reference": reference})).first()
        if row is None:
            return None
        return ChannelTransaction(row.reference, row.transaction_id, row.kind,
                                  ChannelStatus(row.status), row.amount_fen, row.original_reference)

    async def _insert(self, session: AsyncSession, txn: ChannelTransaction) -> ChannelTransaction:
        await session.execute(self._add, {
            "reference": txn.reference, "transaction_id": txn.transaction_id, "kind": txn.kind,
            "status": txn.status.value, "amount_fen": txn.amount_fen,
            "original_reference": txn.original_reference, "created_at": self._clock.now()})
        return txn

    async def charge(self, reference: str, payer_reference: str, amount_fen: int) -> ChannelTransaction:
        if amount_fen <= 0:
            raise DomainError("INVALID_ARGUMENT", "a channel charge must be positive")
        payer = payer_reference.lower()
        if "timeout" in payer:
            raise ChannelTimeout(reference)
        async with self._db.write() as session:
            earlier = await self._get(session, reference)
            if earlier is not None:
                return earlier
            status = ChannelStatus.DECLINED if "decline" in payer else ChannelStatus.CHARGED
            txn = await self._insert(session, ChannelTransaction(
                reference, f"SBX{secrets.token_hex(12)}", "CHARGE", status, amount_fen))
        if "lost-reply" in payer:
            raise ChannelTimeout(reference)
        return txn

    async def refund(self, reference: str, original_reference: str, amount_fen: int) -> ChannelTransaction:
        async with self._db.write() as session:
            earlier = await self._get(session, reference)
            if earlier is not None:
                return earlier
            original = await self._get(session, original_reference)
            if original is None or original.status != ChannelStatus.CHARGED:
                raise DomainError("NOT_FOUND", "no charge to refund for this reference")
            refunded = (await session.execute(
                select(func.coalesce(func.sum(self._t.c.amount_fen), 0)).where(
                    self._t.c.original_reference == original_reference,
                    self._t.c.kind == "REFUND"))).scalar_one()
            if amount_fen <= 0 or refunded + amount_fen > original.amount_fen:
                raise DomainError("REFUND_EXCEEDS_PAID", "the refund exceeds what was charged")
            return await self._insert(session, ChannelTransaction(
                reference, f"SBX{secrets.token_hex(12)}", "REFUND", ChannelStatus.REFUNDED,
                amount_fen, original_reference))

    async def query(self, reference: str) -> ChannelTransaction | None:
        async with self._db.read() as session:
            return await self._get(session, reference)

    async def list(self, *, offset: int, limit: int) -> list[ChannelTransaction]:
        async with self._db.read() as session:
            rows = (await session.execute(
                select(self._t).order_by(self._t.c.created_at, self._t.c.reference)
                .offset(offset).limit(limit))).all()
        return [ChannelTransaction(r.reference, r.transaction_id, r.kind, ChannelStatus(r.status),
                                   r.amount_fen, r.original_reference) for r in rows]
