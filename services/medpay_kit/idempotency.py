"""Idempotent mutations by ``request_id``, stored in the same transaction as the effect.

Same caller + RPC + request id + same request → the first response, replayed byte for byte.
Same id with a different request → ``IDEMPOTENCY_MISMATCH``. The key row is written in the
transaction that makes the change, so a response is remembered exactly when its effect
is committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_kit.db import Database
from medpay_kit.errors import DomainError

M = TypeVar("M", bound=Message)

MAX_REQUEST_ID = 128


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(160), primary_key=True),
        Column("method", String(80), primary_key=True),
        Column("request_id", String(MAX_REQUEST_ID), primary_key=True),
        Column("request_hash", LargeBinary(32), nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def fingerprint(request: Message) -> bytes:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).digest()


def check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > MAX_REQUEST_ID or not request_id.isprintable():
        raise DomainError("INVALID_ARGUMENT",
                          f"request_id is required (1..{MAX_REQUEST_ID} printable characters)")


class IdempotencyStore:
    def __init__(self, table: Table) -> None:
        self.table = table
        c = table.c
        # built once: a statement object reused keeps its compiled form and cache key
        self._recall = select(c.request_hash, c.response).where(
            c.caller == bindparam("k_caller"), c.method == bindparam("k_method"),
            c.request_id == bindparam("k_request_id"))
        self._remember = table.insert()

    async def recall(self, session: AsyncSession, caller: str, method: str, request_id: str,
                     request: Message, response_type: type[M]) -> M | None:
        row = (await session.execute(self._recall, {
            "k_caller": caller, "k_method": method, "k_request_id": request_id})).first()
        if row is None:
            return None
        if row.request_hash != fingerprint(request):
            raise DomainError("IDEMPOTENCY_MISMATCH",
                              "this request_id was already used for a different request")
        return response_type.FromString(row.response)

    async def remember(self, session: AsyncSession, caller: str, method: str, request_id: str,
                       request: Message, response: Message) -> None:
        await session.execute(self._remember, {
            "caller": caller, "method": method, "request_id": request_id,
            "request_hash": fingerprint(request),
            "response": response.SerializeToString(deterministic=True),
            "created_at": datetime.now(UTC)})

    async def run(self, db: Database, caller: str, method: str, request: Message,
                  response_type: type[M], work: Callable[[AsyncSession], Awaitable[M]]) -> M:
        """Run ``work`` once per request id in one write transaction; replay afterwards."""
        request_id = getattr(request, "request_id")  # noqa: B009 - every mutation has one
        check_request_id(request_id)
        for attempt in range(2):
            try:
                async with db.write() as session:
                    earlier = await self.recall(session, caller, method, request_id, request,
                                                response_type)
                    if earlier is not None:
                        return earlier
                    response = await work(session)
                    await self.remember(session, caller, method, request_id, request, response)
                    return response
            except IntegrityError:
                if attempt:  # a concurrent twin committed first: replay it next time round
                    raise
        raise AssertionError("unreachable")

