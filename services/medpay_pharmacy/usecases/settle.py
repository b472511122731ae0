"""Settle (2102): intent first, then Authorize → cash through the channel → Capture.

Idempotent by ``request_id`` through the intent row itself: ``(institution_code,
request_id)`` is unique, so of any number of concurrent or later retries exactly one
inserts the row and drives it; the others wait for its outcome (or take it over if its
driver died) and return the same receipt, or the same error for a FAILED one.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.auth import Caller
from medpay_kit.detach import run_to_end
from medpay_kit.errors import DomainError, outcome_unknown_on_failure
from medpay_kit.idempotency import check_request_id, fingerprint
from medpay_kit.interceptor import call_deadline
from medpay_pharmacy import mapping
from medpay_pharmacy.adapters import registry as repo_registry
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.domain.settlement import Status, Step, business_date
from medpay_pharmacy.usecases.deps import Deps, new_id, new_lease_owner
from medpay_pharmacy.usecases.driver import Driver, lines_json
from medpay_pharmacy.usecases.sale import (
    MAX_PAYER_REFERENCE,
    check_payment,
    context_row_in,
    ensure_unspent,
    exchange_qr,
    price_in,
)

log = structlog.get_logger()


async def receipt_of(deps: Deps, row: Row) -> pb.Receipt:
    async with deps.db.read() as session:
        refund_rows = await repo.refunds_of(session, [row.settlement_id])
    return mapping.receipt(row, refund_rows)


def _outcome_unknown(settlement_id: str):  # type: ignore[no-untyped-def]
    """After the intent exists: money may move, and recovery ends what is left."""
    return outcome_unknown_on_failure("the outcome is not known yet; retry with the same "
                                      "request_id or ask GetSettlement", settlementId=settlement_id)


class Settle:
    def __init__(self, deps: Deps, driver: Driver) -> None:
        self._d = deps
        self._driver = driver

    async def __call__(self, caller: Caller, request: pb.SettleRequest) -> pb.SettleResponse:
        check_request_id(request.request_id)
        check_payment(request)
        if len(request.payer_reference) > MAX_PAYER_REFERENCE:
            raise DomainError("INVALID_ARGUMENT", "payer_reference is too long",
                              field="payer_reference")
        context_id = request.payment_context_id
        if request.WhichOneof("payment") == "qr_payload":
            context_id = await self._exchange_qr(caller.scope, request)
        row, owner = await run_to_end(self._intent_and_drive(caller, request, context_id))
        if row.request_hash != fingerprint(request):
            raise DomainError("IDEMPOTENCY_MISMATCH",
                              "this request_id was already used for a different settlement")
        # the intent exists: money may move from here on, and recovery ends what is left
        with _outcome_unknown(row.settlement_id):
            if owner is None:
                row = await self.await_outcome(row, request)
            # a settlement this call drove to its end (its lease still ours) has no refunds
            return await self.outcome(row,
                                      refunds_possible=owner is None or row.lease_owner != owner)

    async def _exchange_qr(self, code: str, request: pb.SettleRequest) -> str:
        """The payment context for the scanned code, unless this request was seen before.

        Exchanging the code binds it to this pharmacy (``exchange_request_id``: every scan
        of it here names the same context), so it happens only for a basket that prices and
        a request not settled yet; the code is spent when the context pays (Authorize).
        """
        async with self._d.db.read() as session:
            if await repo.settlement_by_request(session, code, request.request_id) is not None:
                return ""  # the intent exists: _write_intent finds it
            await price_in(session, self._d, code, request.lines)
        return (await exchange_qr(self._d, code, request.qr_payload)).payment_context_id

    async def _intent_and_drive(self, caller: Caller, request: pb.SettleRequest,
                                context_id: str) -> tuple[Row, str | None]:
        """The intent, driven to its end if this call wrote it, even if the caller goes
        away meanwhile (kit.detach): a lease is never left held by a call that is gone."""
        row, owner = await self._write_intent(caller, request, context_id)
        if owner is not None:
            with _outcome_unknown(row.settlement_id):
                row = await self._driver.drive(row.settlement_id, owner, live=True,
                                               payer_reference=request.payer_reference, row=row)
        return row, owner

    async def _write_intent(self, caller: Caller, request: pb.SettleRequest,
                            context_id: str) -> tuple[Row, str | None]:
        """Insert the PENDING intent; a twin that got there first wins (owner None).

        The lookups (the request seen before? the basket priced, the payment context, and
        for a scanned code: does its context pay another sale already?) are made in the
        same transaction as the insert, after the context's row is locked, so the sales on
        one context (twins, or other requests with the same code) are decided one by one.
        """
        code = caller.scope
        now = self._d.now()
        owner = new_lease_owner()
        try:
            async with self._d.db.write() as session:
                if context_id:  # first, so a twin behind the lock sees the first intent
                    await repo_registry.get_context(session, context_id, code, lock=True)
                existing = await repo.settlement_by_request(session, code, request.request_id)
                if existing is not None:
                    return existing, None
                pharmacy, lines = await price_in(session, self._d, code, request.lines)
                context = await context_row_in(session, context_id, code)
                if request.WhichOneof("payment") == "qr_payload":
                    await ensure_unspent(session, code, context)
                settlement_id = new_id("ST", now)
                row = await repo.add_settlement(
                    session, settlement_id=settlement_id, institution_code=code,
                    terminal_id=caller.principal, request_id=request.request_id,
                    request_hash=fingerprint(request), status=Status.PENDING, step=Step.INTENT,
                    payment_context_id=context.payment_context_id, level=pharmacy.level,
                    pooling=pharmacy.outpatient_pooling,
                    use_personal_account=request.use_personal_account, lines=lines_json(lines),
                    masked_name=context.masked_name, insurance_type=context.insurance_type,
                    hold_id="", split=None,
                    total_fen=0, fund_pay_fen=0, account_pay_fen=0, cash_pay_fen=0,
                    channel_transaction_id="", issuer_reference="", failure_reason="",
                    failure_message="", business_date=business_date(now), created_at=now,
                    settled_at=None, lease_owner=owner, lease_until=self._d.lease_until())
        except IntegrityError:
            async with self._d.db.read() as session:
                row = await repo.settlement_by_request(session, code, request.request_id)
            assert row is not None
            return row, None
        log.info("settlement_intent_written", settlement_id=settlement_id, lines=len(lines))
        return row, owner

    async def await_outcome(self, row: Row, request: pb.SettleRequest | None) -> Row:
        """Wait for a twin's outcome; take the settlement over if its driver is gone."""
        budget = self._d.settings.settle_wait_s
        remaining = call_deadline.get()
        if remaining is not None:
            budget = max(0.0, min(budget, remaining - 0.25))
        give_up = time.monotonic() + budget
        delay = 0.02
        while row.status == Status.PENDING:
            if repo.aware(row.lease_until) < self._d.now():
                taken = await run_to_end(self._take_over(row, request))
                if taken is not None:
                    return taken
            if time.monotonic() >= give_up:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
            row = await self._driver.load(row.settlement_id)
        return row

    async def _take_over(self, row: Row, request: pb.SettleRequest | None) -> Row | None:
        """Claim a settlement whose driver is gone and drive it (None: someone else has it)."""
        owner = new_lease_owner()
        async with self._d.db.write() as session:
            claimed = await repo.claim_settlement(session, row.settlement_id, owner,
                                                  self._d.now(), self._d.lease_until())
        if not claimed:
            return None
        return await self._driver.drive(
            row.settlement_id, owner, live=request is not None,
            payer_reference=request.payer_reference if request else "")

    async def outcome(self, row: Row, *, refunds_possible: bool = True) -> pb.SettleResponse:
        if row.status == Status.PENDING:
            raise DomainError("REQUEST_IN_PROGRESS",
                              "this settlement is still being settled; ask again shortly",
                              settlementId=row.settlement_id)
        if row.status == Status.FAILED:
            raise DomainError(row.failure_reason, row.failure_message or "the settlement failed",
                              settlementId=row.settlement_id)
        if not refunds_possible:
            return pb.SettleResponse(receipt=mapping.receipt(row, []))
        return pb.SettleResponse(receipt=await receipt_of(self._d, row))
