"""The background sweep that releases authorizations not captured in time."""

from __future__ import annotations

import asyncio

import structlog

from medpay_card.adapters import hold_repo, ledger_repo
from medpay_card.domain import holds
from medpay_card.usecases.deps import Deps
from medpay_card.usecases.holds import release

log = structlog.get_logger()

BATCH = 200


async def expire_due(deps: Deps) -> int:
    """Release every AUTHORIZED hold past its expiry (one transaction per hold); returns how many."""
    now = deps.now()
    async with deps.db.read() as session:
        due = await hold_repo.expired(session, now, BATCH)
    released = 0
    for hold_id, caller, insured_id in due:
        async with deps.db.write() as session:
            await ledger_repo.lock_account(session, insured_id)
            hold = await hold_repo.get(session, hold_id, caller)
            if hold is not None and hold.state == holds.AUTHORIZED and holds.is_past_expiry(
                    hold.expires_at, now):
                await release(session, hold, holds.EXPIRED, now)
                released += 1
    return released


def sweep_loop(deps: Deps):  # type: ignore[no-untyped-def]
    """A background job for ``App.background``."""

    async def hold_expiry_sweep() -> None:
        while True:
            try:
                released = await expire_due(deps)
                if released:
                    log.info("holds_expired", count=released)
            except Exception:
                log.exception("hold_sweep_failed")
            await asyncio.sleep(deps.settings.hold_sweep_interval_s)

    return hold_expiry_sweep
