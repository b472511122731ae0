"""Undoing settlements: CancelSettlement (2103), ReverseByRequestId (2601), RefundLines.

Each writes a refund intent row first (unique per pharmacy and request id, with a
fingerprint of the call so a reused id with another request is IDEMPOTENCY_MISMATCH),
then the refund driver takes it to the issuer and the channel. A retry finds the row and
returns its outcome, or resumes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from google.protobuf.message import Message
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.auth import Caller
from medpay_kit.detach import run_to_end
from medpay_kit.errors import DomainError, outcome_unknown_on_failure
from medpay_kit.idempotency import check_request_id
from medpay_pharmacy import mapping
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.domain.settlement import (
    DoneRefund,
    Parts,
    Purpose,
    Status,
    Step,
    business_date,
    check_something_left,
    plan_refund,
    require_cancellable,
)
from medpay_pharmacy.usecases.deps import Deps, new_id, new_lease_owner
from medpay_pharmacy.usecases.refund_driver import RefundDriver, parts_of, refunded_sum
from medpay_pharmacy.usecases.sale import Replays
from medpay_pharmacy.usecases.settle import Settle, receipt_of

TOMBSTONE = bytes(32)  # request hash of a "reversed before it arrived" settlement


def call_fingerprint(method: str, request: Message) -> bytes:
    return hashlib.sha256(method.encode() + b"\0" +
                          request.SerializeToString(deterministic=True)).digest()


def _outcome_unknown(settlement_id: str, refund_id: str):  # type: ignore[no-untyped-def]
    """After the refund intent exists: money may move, and recovery ends what is left."""
    return outcome_unknown_on_failure("the outcome is not known yet; retry with the same "
                                      "request_id or ask GetSettlement", refundId=refund_id,
                                      settlementId=settlement_id)


class Undo:
    def __init__(self, deps: Deps, driver: RefundDriver, settle: Settle) -> None:
        self._d = deps
        self._driver = driver
        self._settle = settle
        self._replays = Replays(deps)

    async def _settlement(self, code: str, settlement_id: str) -> Row:
        async with self._d.db.read() as session:
            row = await repo.settlement_by_id(session, settlement_id, code)
        if row is None:
            raise DomainError("SETTLEMENT_NOT_FOUND", "no such settlement at this pharmacy",
                              field="settlement_id")
        return row

    async def _existing(self, code: str, request_id: str, fp: bytes) -> Row | None:
        async with self._d.db.read() as session:
            row = await repo.refund_by_request(session, code, request_id)
        if row is not None and row.request_hash != fp:
            raise DomainError("IDEMPOTENCY_MISMATCH",
                              "this request_id was already used for a different request")
        return row

    async def _run(self, caller: Caller, request_id: str, fp: bytes, settlement: Row,
                   purpose: Purpose, kind: str, line_nos: tuple[int, ...]) -> Row:
        """Write the refund intent (unless a twin did) and drive it to its end."""
        driven = await run_to_end(self._intent_and_drive(request_id, fp, settlement, purpose,
                                                         kind, line_nos))
        if driven is not None:
            return self._outcome(driven)
        existing = await self._existing(settlement.institution_code, request_id, fp)
        assert existing is not None
        with _outcome_unknown(settlement.settlement_id, existing.refund_id):
            return await self._finish(existing)

    async def _intent_and_drive(self, request_id: str, fp: bytes, settlement: Row,
                                purpose: Purpose, kind: str, line_nos: tuple[int, ...]) -> Row | None:
        """The intent written and driven to its end even if the caller goes away meanwhile
        (kit.detach), so its lease is not left held; None when a twin wrote it first."""
        now = self._d.now()
        owner = new_lease_owner()
        refund_id = new_id("RF", now)
        try:
            async with self._d.db.write() as session:
                twin = await repo.refund_by_request(session, settlement.institution_code, request_id)
                if twin is None:
                    await repo.add_refund(
                        session, refund_id=refund_id, settlement_id=settlement.settlement_id,
                        institution_code=settlement.institution_code, request_id=request_id,
                        request_hash=fp, purpose=purpose, kind=kind, line_nos=list(line_nos),
                        status="PENDING", step="INTENT", refunded=None, total_fen=0,
                        fund_pay_fen=0, account_pay_fen=0, cash_pay_fen=0, issuer_refund_id="",
                        channel_transaction_id="", failure_reason="", failure_message="",
                        business_date=business_date(now), created_at=now, refunded_at=None,
                        lease_owner=owner, lease_until=self._d.lease_until())
        except IntegrityError:
            return None
        if twin is not None:
            return None
        # the intent exists: money may move from here on, and recovery ends what is left
        with _outcome_unknown(settlement.settlement_id, refund_id):
            return await self._driver.drive(refund_id, owner)

    async def _planned(self, code: str, request_id: str, fp: bytes, plan) -> None:  # type: ignore[no-untyped-def]
        """Check a new request with ``plan``; a refusal that a twin's refund explains (it
        committed between our look-up and the plan) lets the twin's outcome answer instead."""
        if await self._existing(code, request_id, fp) is not None:
            return
        try:
            await plan()
        except DomainError:
            if await self._existing(code, request_id, fp) is None:
                raise

    async def _finish(self, row: Row) -> Row:
        """An existing refund: wait for its driver, or resume it if the driver is gone."""
        give_up = time.monotonic() + self._d.settings.settle_wait_s
        delay = 0.02
        while row.status == "PENDING":
            if repo.aware(row.lease_until) < self._d.now():
                taken = await run_to_end(self._take_over(row.refund_id))
                if taken is not None:
                    row = taken
                    break
            if time.monotonic() >= give_up:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
            row = await self._driver.load(row.refund_id)
        return self._outcome(row)

    async def _take_over(self, refund_id: str) -> Row | None:
        """Claim a refund whose driver is gone and drive it (None: someone else has it)."""
        owner = new_lease_owner()
        async with self._d.db.write() as session:
            claimed = await repo.claim_refund(session, refund_id, owner, self._d.now(),
                                              self._d.lease_until())
        return await self._driver.drive(refund_id, owner) if claimed else None

    @staticmethod
    def _outcome(row: Row) -> Row:
        if row.status == "FAILED":
            raise DomainError(row.failure_reason, row.failure_message or "the refund failed",
                              refundId=row.refund_id, settlementId=row.settlement_id)
        if row.status == "PENDING":
            raise DomainError("REQUEST_IN_PROGRESS", "this refund is still in progress",
                              refundId=row.refund_id, settlementId=row.settlement_id)
        return row

    async def cancel(self, caller: Caller,
                     request: pb.CancelSettlementRequest) -> pb.CancelSettlementResponse:
        check_request_id(request.request_id)
        fp = call_fingerprint("CancelSettlement", request)
        settlement = await self._settlement(caller.scope, request.settlement_id)

        async def plan() -> None:
            today = business_date(self._d.now())
            require_cancellable(Status(settlement.status), settlement.business_date, today)

        await self._planned(caller.scope, request.request_id, fp, plan)
        row = await self._run(caller, request.request_id, fp, settlement, Purpose.CANCEL, "ALL", ())
        settlement = await self._settlement(caller.scope, row.settlement_id)
        return pb.CancelSettlementResponse(receipt=await receipt_of(self._d, settlement))

    async def refund_lines(self, caller: Caller,
                           request: pb.RefundLinesRequest) -> pb.RefundLinesResponse:
        check_request_id(request.request_id)
        fp = call_fingerprint("RefundLines", request)
        kind = mapping.KIND_NAMES.get(request.kind, "")
        settlement = await self._settlement(caller.scope, request.settlement_id)
        line_nos: tuple[int, ...] = ()

        async def plan() -> None:
            nonlocal line_nos
            async with self._d.db.read() as session:
                done = await repo.refunds_of(session, [settlement.settlement_id])
            line_nos = plan_refund(
                Status(settlement.status), [line["line_no"] for line in settlement.lines],
                [DoneRefund(r.kind, tuple(r.line_nos), Parts()) for r in done
                 if r.status != "FAILED"],
                kind, list(request.line_nos))
            check_something_left(parts_of(settlement), refunded_sum(done), kind)

        await self._planned(caller.scope, request.request_id, fp, plan)
        row = await self._run(caller, request.request_id, fp, settlement, Purpose.REFUND, kind,
                              line_nos)
        settlement = await self._settlement(caller.scope, row.settlement_id)
        return pb.RefundLinesResponse(refund_id=row.refund_id,
                                      refunded=mapping.split_of(row.refunded),
                                      receipt=await receipt_of(self._d, settlement))

    async def reverse(self, caller: Caller,
                      request: pb.ReverseByRequestIdRequest) -> pb.ReverseByRequestIdResponse:
        check_request_id(request.request_id)
        check_request_id(request.original_request_id)
        return await self._replays.run(caller.key, "ReverseByRequestId", request,
                                       pb.ReverseByRequestIdResponse,
                                       lambda: self._reverse(caller, request))

    async def _reverse(self, caller: Caller,
                       request: pb.ReverseByRequestIdRequest) -> pb.ReverseByRequestIdResponse:
        nothing = pb.ReverseByRequestIdResponse(outcome=pb.REVERSE_OUTCOME_NOTHING_TO_REVERSE)
        fp = call_fingerprint("ReverseByRequestId", request)
        settlement = await self._original(caller, request.original_request_id)
        if settlement is None:
            return nothing
        if settlement.status == Status.PENDING:
            settlement = await self._settle.await_outcome(settlement, None)
            if settlement.status == Status.PENDING:
                raise DomainError("REQUEST_IN_PROGRESS", "the settlement is still being settled",
                                  settlementId=settlement.settlement_id)
        if settlement.status == Status.FAILED:
            return nothing
        if settlement.status == Status.COMPLETED or await self._existing(
                caller.scope, request.request_id, fp) is not None:
            if settlement.status == Status.COMPLETED:
                require_cancellable(Status.COMPLETED, settlement.business_date,
                                    business_date(self._d.now()))
            await self._run(caller, request.request_id, fp, settlement, Purpose.REVERSE, "ALL", ())
        elif settlement.status not in (Status.CANCELLED, Status.REVERSED):
            require_cancellable(Status(settlement.status), settlement.business_date, "")
        settlement = await self._settlement(caller.scope, settlement.settlement_id)
        return pb.ReverseByRequestIdResponse(outcome=pb.REVERSE_OUTCOME_REVERSED,
                                             settlement_id=settlement.settlement_id,
                                             receipt=await receipt_of(self._d, settlement))

    async def _original(self, caller: Caller, request_id: str) -> Row | None:
        """The settlement of that Settle request id; none → a tombstone blocks a late Settle."""
        code = caller.scope
        now = self._d.now()
        for _ in range(2):
            try:
                async with self._d.db.write() as session:
                    row = await repo.settlement_by_request(session, code, request_id)
                    if row is not None:
                        return row
                    await repo.add_settlement(
                        session, settlement_id=new_id("ST", now), institution_code=code,
                        terminal_id=caller.principal, request_id=request_id,
                        request_hash=TOMBSTONE, status=Status.FAILED, step=Step.DONE,
                        payment_context_id="", level=0, pooling=False,
                        use_personal_account=False, lines=[], masked_name="", insurance_type=0,
                        hold_id="", split=None, total_fen=0, fund_pay_fen=0, account_pay_fen=0,
                        cash_pay_fen=0, channel_transaction_id="", issuer_reference="",
                        failure_reason="NOTHING_TO_REVERSE",
                        failure_message="reversed before any settlement arrived",
                        business_date=business_date(now), created_at=now, settled_at=now,
                        lease_owner="", lease_until=now)
                    return None
            except IntegrityError:
                continue  # a Settle with that id arrived at this very moment: look again
        raise DomainError("REQUEST_IN_PROGRESS", "the settlement is being written; try again")
