"""Drives one refund (RefundLines, CancelSettlement, ReverseByRequestId) to its end.

A refund only ever moves forward: ``INTENT`` → the issuer refunds (``card.Refund``, request
id derived from the refund id) → ``ISSUER_DONE`` → the cash part goes back through the
channel (reference derived from the refund id) → ``DONE``, and the settlement's status
follows. A refusal by the issuer ends it FAILED with nothing moved; an unknown outcome
leaves it PENDING for a retry or the recovery loop, which repeat the same calls.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Row

from medpay_kit.errors import DomainError
from medpay_kit.payment_channel import ChannelTimeout
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.domain.settlement import (
    UNDONE_STATUS,
    Parts,
    Purpose,
    Status,
    check_never_more_than_paid,
    status_after_refund,
)
from medpay_pharmacy.usecases.deps import Deps
from medpay_pharmacy.usecases.driver import UNKNOWN, LeaseLost, charge_reference

log = structlog.get_logger()


def parts_of(row: Row) -> Parts:
    return Parts(row.total_fen, row.fund_pay_fen, row.account_pay_fen, row.cash_pay_fen)


def refunded_sum(rows: list[Row], but: str = "") -> Parts:
    total = Parts()
    for row in rows:
        if row.status == "COMPLETED" and row.refund_id != but:
            total = total + parts_of(row)
    return total


class RefundDriver:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def load(self, refund_id: str) -> Row:
        async with self._d.db.read() as session:
            row = await repo.refund_by_id(session, refund_id)
        assert row is not None
        return row

    async def drive(self, refund_id: str, owner: str) -> Row:
        row = await self.load(refund_id)
        try:
            if row.step == "INTENT":
                row = await self._issuer(row, owner)
            if row.step == "ISSUER_DONE":
                row = await self._cash_back(row, owner)
        except LeaseLost:
            row = await self.load(refund_id)
        except Exception:  # outcome unknown: a retry (or recovery) takes over at once
            await self._d.release_lease(repo.update_refund, refund_id, owner)
            raise
        return row

    async def _save(self, row: Row, owner: str, **values: object) -> Row:
        if values.get("status", "PENDING") == "PENDING":
            values["lease_until"] = self._d.lease_until()
        async with self._d.db.write() as session:
            if not await repo.update_refund(session, row.refund_id, owner, **values):
                raise LeaseLost
            return await repo.refund_by_id(session, row.refund_id)

    async def _issuer(self, row: Row, owner: str) -> Row:
        async with self._d.db.read() as session:
            settlement = await repo.settlement_by_id(session, row.settlement_id)
            earlier = await repo.refunds_of(session, [row.settlement_id])
        try:
            reply = await self._d.card.refund(f"{row.refund_id}:refund", settlement.hold_id,
                                              row.kind, list(row.line_nos))
        except DomainError as exc:
            if exc.reason in UNKNOWN:
                raise
            log.info("refund_refused", refund_id=row.refund_id, reason=exc.reason)
            return await self._save(row, owner, status="FAILED", step="DONE",
                                    failure_reason=exc.reason, failure_message=exc.message[:200])
        got = reply.refunded
        now_parts = Parts(got.total.amount_fen, got.fund_pay.amount_fen,
                          got.account_pay.amount_fen, got.cash_pay.amount_fen)
        try:
            check_never_more_than_paid(parts_of(settlement), refunded_sum(earlier, row.refund_id),
                                       now_parts)
        except DomainError:  # the issuer booked it: record it, and say loudly it is off
            log.error("refund_exceeds_paid_at_issuer", refund_id=row.refund_id)
        return await self._save(
            row, owner, step="ISSUER_DONE", refunded=got.SerializeToString(deterministic=True),
            total_fen=now_parts.total, fund_pay_fen=now_parts.fund_pay,
            account_pay_fen=now_parts.account_pay, cash_pay_fen=now_parts.cash_pay,
            issuer_refund_id=reply.refund_id, business_date=reply.business_date or row.business_date)

    async def _cash_back(self, row: Row, owner: str) -> Row:
        reference = ""
        if row.cash_pay_fen > 0:
            reference = f"{row.refund_id}-R"
            await self._channel_refund(row, reference)
        now = self._d.now()
        async with self._d.db.write() as session:
            if not await repo.update_refund(session, row.refund_id, owner, status="COMPLETED",
                                            step="DONE", channel_transaction_id=reference,
                                            refunded_at=now):
                raise LeaseLost
            settlement = await repo.settlement_by_id(session, row.settlement_id)
            done = await repo.refunds_of(session, [row.settlement_id])
            purpose = Purpose(row.purpose)
            status = UNDONE_STATUS.get(purpose) or status_after_refund(
                parts_of(settlement), refunded_sum(done))
            await repo.update_settlement(session, row.settlement_id, None, status=status)
            fresh = await repo.refund_by_id(session, row.refund_id)
        log.info("refund_completed", refund_id=row.refund_id, purpose=row.purpose,
                 settlement_status=Status(status).value, cash_fen=row.cash_pay_fen)
        return fresh

    async def _channel_refund(self, row: Row, reference: str) -> None:
        now = self._d.now()
        async with self._d.db.write() as session:
            if await repo.payment(session, reference) is None:
                await repo.add_payment(
                    session, transaction_id=reference, channel=self._d.channel_name,
                    channel_reference="", kind="REFUND", status="PENDING",
                    amount_fen=row.cash_pay_fen, settlement_id=row.settlement_id,
                    refund_id=row.refund_id, institution_code=row.institution_code,
                    business_date=row.business_date, created_at=now, completed_at=None)
        try:
            txn = await self._d.channel.refund(reference, charge_reference(row.settlement_id),
                                               row.cash_pay_fen)
        except ChannelTimeout:
            raise DomainError("OUTCOME_UNKNOWN", "the payment channel did not answer; "
                              "the refund stays PENDING until a retry or recovery ends it",
                              refundId=row.refund_id) from None
        async with self._d.db.write() as session:
            await repo.update_payment(session, reference, status="SUCCEEDED",
                                      channel_reference=txn.transaction_id,
                                      completed_at=self._d.now())
