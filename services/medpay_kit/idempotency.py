"""Idempotent mutations by ``request_id``, stored in the same transaction as the effect.

Same caller + RPC + request id + same request → the first response, replayed byte for byte.
Same id with a different request → ``IDEMPOTENCY_MISMATCH``. The key row is written in the
transaction that makes the change, so a response is remembered exactly when its effect
is committed.

Twins — identical requests that arrive while the first is still running — get the first
reply too, on every backend. Every look-up in a write transaction takes the key first:
SQLite's single writer (``BEGIN IMMEDIATE``) already serializes the transactions, and on
PostgreSQL ``recall`` takes a transaction-scoped advisory lock on the key, so a twin
blocks there until the first transaction ends and then reads its stored reply instead of
running into the first's effect (``ALREADY_REFUNDED``, ``HOLD_ALREADY_CAPTURED`` …).

Mutations whose work spans several transactions or peer calls (``first_reply``) store the
reply in the transaction of their last effect; a twin refused on the way (by an intent row
another call holds, or by a state the first call's effect left behind) asks the store
again — waiting for the reply while the refusal says ``REQUEST_IN_PROGRESS`` — and
answers the first reply when there is one.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_kit.db import Database
from medpay_kit.errors import DomainError, outcome_unknown
from medpay_kit.interceptor import call_deadline

M = TypeVar("M", bound=Message)

MAX_REQUEST_ID = 128
#: longest a twin waits for the first call's reply (the call's own deadline may be shorter)
TWIN_WAIT_S = 10.0


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


def key_lock_id(caller: str, method: str, request_id: str) -> int:
    """The signed 64-bit advisory-lock id of one idempotency key (PostgreSQL)."""
    digest = hashlib.sha256(f"{caller}\0{method}\0{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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
        self._lock = select(func.pg_advisory_xact_lock(bindparam("k_lock")))

    async def lock(self, session: AsyncSession, caller: str, method: str, request_id: str) -> None:
        """Take the key until the transaction ends: a twin waits here for the first.

        PostgreSQL: a transaction-scoped advisory lock on the key. SQLite: nothing to do,
        the single writer already runs write transactions one at a time.
        """
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(self._lock, {"k_lock": key_lock_id(caller, method, request_id)})

    async def recall(self, session: AsyncSession, caller: str, method: str, request_id: str,
                     request: Message, response_type: type[M]) -> M | None:
        """The stored reply (after taking the key, so a running twin is waited for)."""
        await self.lock(session, caller, method, request_id)
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
            committing = False
            try:
                async with db.write() as session:
                    earlier = await self.recall(session, caller, method, request_id, request,
                                                response_type)
                    if earlier is not None:
                        return earlier
                    response = await work(session)
                    await self.remember(session, caller, method, request_id, request, response)
                    committing = True  # a failure from here on may have committed the effect
                return response
            except IntegrityError:
                if attempt:  # a concurrent twin committed first: replay it next time round
                    raise
            except DomainError:
                raise
            except Exception as exc:
                if not committing:
                    raise
                raise outcome_unknown(exc, "the outcome is not known; retry with the same "
                                      "request_id") from exc
        raise AssertionError("unreachable")

    async def remember_once(self, db: Database, caller: str, method: str, request: Message,
                            response_type: type[M], response: M) -> M:
        """Store ``response`` unless a twin stored one first; the reply every twin gets."""

        async def stored(session: AsyncSession) -> M:
            return response

        return await self.run(db, caller, method, request, response_type, stored)

    async def await_reply(self, db: Database, caller: str, method: str, request: Message,
                          response_type: type[M], wait_s: float) -> M | None:
        """The stored reply, polled for up to ``wait_s`` (bounded by the call's deadline)."""
        request_id = getattr(request, "request_id")  # noqa: B009 - every mutation has one
        remaining = call_deadline.get()
        if remaining is not None:
            wait_s = max(0.0, min(wait_s, remaining - 0.25))
        give_up = time.monotonic() + wait_s
        delay = 0.02
        while True:
            async with db.read() as session:
                earlier = await self.recall(session, caller, method, request_id, request,
                                            response_type)
            if earlier is not None or time.monotonic() >= give_up:
                return earlier
            await asyncio.sleep(min(delay, max(0.0, give_up - time.monotonic())))
            delay = min(delay * 2, 0.25)

    async def first_reply(self, db: Database, caller: str, method: str, request: Message,
                          response_type: type[M], attempt: Callable[[], Awaitable[M]], *,
                          wait_s: float = TWIN_WAIT_S) -> M:
        """A mutation that spans transactions or peer calls, answered once per request id.

        ``attempt`` stores its reply in the transaction of its last effect (``recall`` +
        ``remember`` there, or ``remember_once``). A stored reply is replayed without
        running it; a refusal it raises is checked against the store, because a twin is
        refused by what the first call holds or has done: ``REQUEST_IN_PROGRESS`` waits for
        the first reply, any other refusal looks once — the first reply wins either way.
        """
        request_id = getattr(request, "request_id")  # noqa: B009 - every mutation has one
        check_request_id(request_id)
        earlier = await self.await_reply(db, caller, method, request, response_type, 0.0)
        if earlier is not None:
            return earlier
        try:
            return await attempt()
        except DomainError as exc:
            if exc.reason == "IDEMPOTENCY_MISMATCH":
                raise
            wait = wait_s if exc.reason == "REQUEST_IN_PROGRESS" else 0.0
            earlier = await self.await_reply(db, caller, method, request, response_type, wait)
            if earlier is not None:
                return earlier
            raise
