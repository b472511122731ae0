"""The recovery loop: finishes or unwinds settlements and refunds left PENDING.

Runs at start-up and every ``recovery_interval_s``. It takes over only rows whose lease
has run out (their driver crashed, or gave up on an unknown outcome) and drives them with
the same deterministic calls as the original attempt; see ``Driver`` for the decisions.
"""

from __future__ import annotations

import asyncio

import structlog

from medpay_kit.errors import DomainError
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.usecases.deps import Deps, new_lease_owner
from medpay_pharmacy.usecases.driver import Driver
from medpay_pharmacy.usecases.refund_driver import RefundDriver

log = structlog.get_logger()


class Recovery:
    def __init__(self, deps: Deps, driver: Driver, refunds: RefundDriver) -> None:
        self._d = deps
        self._driver = driver
        self._refunds = refunds

    async def loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recovery_pass_failed")
            await asyncio.sleep(self._d.settings.recovery_interval_s)

    async def run_once(self) -> int:
        """One pass; returns how many rows it took over."""
        batch = self._d.settings.recovery_batch
        async with self._d.db.read() as session:
            settlement_ids = await repo.stale_pending(session, "settlements", self._d.now(), batch)
            refund_ids = await repo.stale_pending(session, "refunds", self._d.now(), batch)
        taken = 0
        for settlement_id in settlement_ids:
            owner = new_lease_owner()
            async with self._d.db.write() as session:
                if not await repo.claim_settlement(session, settlement_id, owner, self._d.now(),
                                                   self._d.lease_until()):
                    continue
            taken += 1
            try:
                row = await self._driver.drive(settlement_id, owner, live=False)
                log.info("settlement_recovered", settlement_id=settlement_id, status=row.status,
                         reason=row.failure_reason or None)
            except DomainError as exc:
                log.warning("settlement_recovery_deferred", settlement_id=settlement_id,
                            reason=exc.reason)
        for refund_id in refund_ids:
            owner = new_lease_owner()
            async with self._d.db.write() as session:
                if not await repo.claim_refund(session, refund_id, owner, self._d.now(),
                                               self._d.lease_until()):
                    continue
            taken += 1
            try:
                row = await self._refunds.drive(refund_id, owner)
                log.info("refund_recovered", refund_id=refund_id, status=row.status)
            except DomainError as exc:
                log.warning("refund_recovery_deferred", refund_id=refund_id, reason=exc.reason)
        return taken
