"""Drives one settlement through its steps, live (Settle) or after a crash (recovery).

Each step's outcome is persisted before the next step starts, and every issuer call uses
a request id derived from the settlement id, so driving the same settlement again (a
retry after a crash, or the recovery loop) repeats the same calls and converges. Once the
cash charge has been sent it is never abandoned blindly: the channel is queried first.
Live, a hold whose charge was never sent is charged; in recovery it is voided (the till
has long given up on it), whether or not there was cash to charge. Once the cash has
been collected the settlement is always completed (captured), never abandoned.
"""

from __future__ import annotations

import os
from dataclasses import asdict

import structlog
from sqlalchemy import Row

from medpay_kit.errors import OUTCOME_UNKNOWN_REASONS, DomainError
from medpay_kit.payment_channel import ChannelStatus, ChannelTimeout, ChannelTransaction
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.domain.basket import PricedLine
from medpay_pharmacy.domain.settlement import Status, Step, business_date
from medpay_pharmacy.usecases.deps import Deps

log = structlog.get_logger()

#: issuer answers that leave the outcome unknown: keep PENDING, decide later
UNKNOWN = OUTCOME_UNKNOWN_REASONS
#: refusals of our own Capture that only its own earlier success explains (a twin of the
#: same request id): the capture happened, so never give the cash back for them
CAPTURED_ALREADY = frozenset({"HOLD_ALREADY_CAPTURED"})


class LeaseLost(Exception):
    """Another driver (recovery, or a retry) took this settlement over."""


def lines_of(row: Row) -> list[PricedLine]:
    return [PricedLine(**line) for line in row.lines]


def lines_json(lines: list[PricedLine] | tuple[PricedLine, ...]) -> list[dict]:
    return [asdict(line) for line in lines]


def charge_reference(settlement_id: str) -> str:
    return f"{settlement_id}-C"


def pending_error(row: Row, cause: DomainError) -> DomainError:
    return DomainError("OUTCOME_UNKNOWN", f"the outcome is not known yet ({cause.reason}: "
                       f"{cause.message}); the settlement stays PENDING until a retry with the "
                       "same request_id or recovery ends it", settlementId=row.settlement_id)


class Driver:
    def __init__(self, deps: Deps) -> None:
        self._d = deps
        self._fault_fired = False

    async def load(self, settlement_id: str) -> Row:
        async with self._d.db.read() as session:
            row = await repo.settlement_by_id(session, settlement_id)
        assert row is not None
        return row

    async def drive(self, settlement_id: str, owner: str, *, live: bool,
                    payer_reference: str = "", row: Row | None = None) -> Row:
        """Take the settlement as far as it goes; unknown outcomes raise with it PENDING.

        ``row`` is the settlement as its caller just wrote it under ``owner``'s lease (the
        intent), which spares reading it again; otherwise it is loaded.
        """
        if row is None or row.lease_owner != owner:
            row = await self.load(settlement_id)
        try:
            if row.step == Step.INTENT:
                row = await self._authorize(row, owner, live)
            if row.step == Step.AUTHORIZED:
                row = await self._charge(row, owner, live, payer_reference)
            if row.step == Step.CHARGING:
                row = await self._charged_or_not(row, owner, None)
            if row.step == Step.CHARGED:
                row = await self._capture(row, owner)
        except LeaseLost:
            log.warning("settlement_lease_lost", settlement_id=settlement_id)
            row = await self.load(settlement_id)
        except Exception:
            await self._d.release_lease(repo.update_settlement, settlement_id, owner)
            raise
        return row

    async def _save(self, row: Row, owner: str, **values: object) -> Row:
        if values.get("status", Status.PENDING) == Status.PENDING:
            values["lease_until"] = self._d.lease_until()
        async with self._d.db.write() as session:
            fresh = await repo.save_settlement(session, row.settlement_id, owner, **values)
        if fresh is None:
            raise LeaseLost
        return fresh

    def _crash_hook(self, step: str, live: bool) -> None:
        if live and self._d.settings.test_crash_after == step:
            log.warning("test_crash_hook_fired", step=step)
            os._exit(137)  # TEST-ONLY fault injection, see PharmacySettings

    def _fault_hook(self, step: str) -> None:
        if self._d.settings.test_fail_after == step and not self._fault_fired:
            self._fault_fired = True  # once per process: the retry or recovery then finishes
            log.warning("test_fault_hook_fired", step=step)
            raise RuntimeError(f"test fault after {step}")  # TEST-ONLY, see PharmacySettings

    async def _authorize(self, row: Row, owner: str, live: bool) -> Row:
        code = row.institution_code
        if not row.payment_context_id:  # Settle writes the context with the intent
            return await self._fail(row, owner, "SETTLEMENT_FAILED",
                                    "the settlement has no payment context")
        try:
            auth = await self._d.card.authorize(
                f"{row.settlement_id}:authorize", row.payment_context_id, code, row.level,
                row.pooling, row.use_personal_account, lines_of(row), row.settlement_id)
        except DomainError as exc:
            if exc.reason in UNKNOWN:
                raise pending_error(row, exc) from None
            return await self._fail(row, owner, exc.reason, exc.message)
        split = auth.split
        row = await self._save(
            row, owner, step=Step.AUTHORIZED, hold_id=auth.hold_id,
            split=split.SerializeToString(deterministic=True),
            total_fen=split.total.amount_fen, fund_pay_fen=split.fund_pay.amount_fen,
            account_pay_fen=split.account_pay.amount_fen, cash_pay_fen=split.cash_pay.amount_fen)
        log.info("settlement_authorized", settlement_id=row.settlement_id,
                 cash_fen=row.cash_pay_fen)
        self._crash_hook("authorize", live)
        return row

    async def _charge(self, row: Row, owner: str, live: bool, payer_reference: str) -> Row:
        if not live:  # the till gave up on it long ago: never charge or book it now
            return await self._unwind(row, owner, "SETTLEMENT_FAILED",
                                      "the settlement was interrupted before the cash part was "
                                      "charged; nothing was booked or charged")
        if row.cash_pay_fen == 0:
            return await self._save(row, owner, step=Step.CHARGED)
        reference = charge_reference(row.settlement_id)
        now = self._d.now()
        async with self._d.db.write() as session:
            fresh = await repo.save_settlement(session, row.settlement_id, owner,
                                               step=Step.CHARGING,
                                               lease_until=self._d.lease_until())
            if fresh is None:
                raise LeaseLost
            row = fresh
            if await repo.payment(session, reference) is None:
                await repo.add_payment(
                    session, transaction_id=reference, channel=self._d.channel_name,
                    channel_reference="", kind="CHARGE", status="PENDING",
                    amount_fen=row.cash_pay_fen, settlement_id=row.settlement_id, refund_id="",
                    institution_code=row.institution_code, business_date=business_date(now),
                    created_at=now, completed_at=None)
        try:
            txn = await self._d.channel.charge(reference, payer_reference, row.cash_pay_fen)
        except ChannelTimeout:
            log.warning("channel_charge_timed_out", settlement_id=row.settlement_id)
            return await self._charged_or_not(row, owner, None)
        row = await self._charged_or_not(row, owner, txn)
        self._crash_hook("charge", live)
        return row

    async def _charged_or_not(self, row: Row, owner: str, txn: ChannelTransaction | None) -> Row:
        """After the charge was sent: the channel's answer, or a query, decides."""
        reference = charge_reference(row.settlement_id)
        if txn is None:
            try:
                txn = await self._d.channel.query(reference)
            except ChannelTimeout:
                raise pending_error(row, DomainError(
                    "CHANNEL_TIMEOUT", "the payment channel did not answer")) from None
        now = self._d.now()
        if txn is None or txn.status is not ChannelStatus.CHARGED:
            timed_out = txn is None
            async with self._d.db.write() as session:
                await repo.update_payment(
                    session, reference, status="TIMED_OUT" if timed_out else "DECLINED",
                    channel_reference=txn.transaction_id if txn else "", completed_at=now)
            if timed_out:
                return await self._unwind(row, owner, "CHANNEL_TIMEOUT",
                                          "the payment channel did not answer; nothing was charged")
            return await self._unwind(row, owner, "CHANNEL_DECLINED",
                                      "the payment channel declined the cash part")
        # the channel's record and the step move together (one transaction); the payment
        # record is kept even when the lease was lost, as when they were written apart
        async with self._d.db.write() as session:
            await repo.update_payment(session, reference, status="SUCCEEDED",
                                      channel_reference=txn.transaction_id, completed_at=now)
            fresh = await repo.save_settlement(session, row.settlement_id, owner,
                                               step=Step.CHARGED, channel_transaction_id=reference,
                                               lease_until=self._d.lease_until())
        if fresh is None:
            raise LeaseLost
        log.info("settlement_cash_charged", settlement_id=row.settlement_id)
        return fresh

    async def _unwind(self, row: Row, owner: str, reason: str, message: str) -> Row:
        """Release the hold, then record the failure. Never called once the cash moved."""
        try:
            await self._d.card.void(f"{row.settlement_id}:void", row.hold_id, reason)
        except DomainError as exc:
            if exc.reason in UNKNOWN:
                raise pending_error(row, exc) from None
            if exc.reason == "HOLD_ALREADY_CAPTURED":  # a twin captured it: finish instead
                return await self._capture(row, owner)
            log.info("void_refused", settlement_id=row.settlement_id, reason=exc.reason)
        return await self._fail(row, owner, reason, message)

    async def _fail(self, row: Row, owner: str, reason: str, message: str) -> Row:
        """Record the end: every retry with the same request_id answers ``reason``, so it
        must say "nothing happened" (never INTERNAL, never an outcome-unknown reason)."""
        if reason == "INTERNAL" or reason in UNKNOWN:
            reason = "SETTLEMENT_FAILED"
        row = await self._save(row, owner, status=Status.FAILED, step=Step.DONE,
                               failure_reason=reason, failure_message=message[:200],
                               settled_at=self._d.now())
        log.info("settlement_failed", settlement_id=row.settlement_id, reason=reason)
        return row

    async def _capture(self, row: Row, owner: str) -> Row:
        try:
            captured = await self._d.card.capture(f"{row.settlement_id}:capture", row.hold_id)
        except DomainError as exc:
            if exc.reason in UNKNOWN or exc.reason in CAPTURED_ALREADY:
                raise pending_error(row, exc) from None
            await self._give_cash_back(row)
            return await self._fail(row, owner, exc.reason, exc.message)
        self._fault_hook("capture")
        split = captured.split
        row = await self._save(
            row, owner, status=Status.COMPLETED, step=Step.DONE,
            split=split.SerializeToString(deterministic=True), total_fen=split.total.amount_fen,
            fund_pay_fen=split.fund_pay.amount_fen, account_pay_fen=split.account_pay.amount_fen,
            cash_pay_fen=split.cash_pay.amount_fen, issuer_reference=captured.issuer_reference,
            business_date=captured.business_date or business_date(self._d.now()),
            settled_at=captured.captured_at.ToDatetime(tzinfo=self._d.now().tzinfo))
        log.info("settlement_completed", settlement_id=row.settlement_id,
                 total_fen=row.total_fen, cash_fen=row.cash_pay_fen)
        return row

    async def _give_cash_back(self, row: Row) -> None:
        """The issuer refused to book after the cash was taken: return the cash."""
        if not row.channel_transaction_id:
            return
        reference = f"{row.settlement_id}-CR"
        now = self._d.now()
        async with self._d.db.write() as session:
            if await repo.payment(session, reference) is None:
                await repo.add_payment(
                    session, transaction_id=reference, channel=self._d.channel_name,
                    channel_reference="", kind="REFUND", status="PENDING",
                    amount_fen=row.cash_pay_fen, settlement_id=row.settlement_id, refund_id="",
                    institution_code=row.institution_code, business_date=business_date(now),
                    created_at=now, completed_at=None)
        try:
            txn = await self._d.channel.refund(reference, row.channel_transaction_id,
                                               row.cash_pay_fen)
        except ChannelTimeout:
            raise pending_error(row, DomainError(
                "CHANNEL_TIMEOUT", "the payment channel did not answer")) from None
        async with self._d.db.write() as session:
            await repo.update_payment(session, reference, status="SUCCEEDED",
                                      channel_reference=txn.transaction_id,
                                      completed_at=self._d.now())
