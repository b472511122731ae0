"""The event bell that wakes WatchVisitEvents streams: waiters cancelled in any way, at any
moment (once, twice, while a ring is waking them), must leave nothing held, so the next
ring (rung after every commit) returns at once and a new waiter still wakes."""

from __future__ import annotations

import asyncio
import inspect
import random

from medpay_billing.adapters.events import EventBell


async def _ring(bell: EventBell) -> None:
    result = bell.ring()
    if inspect.isawaitable(result):  # a ring must never wait; allow the old shape to fail below
        async with asyncio.timeout(1):
            await result


async def test_cancelled_waiters_leave_the_bell_usable():
    bell = EventBell()
    rnd = random.Random(12)

    async def watcher() -> None:
        while True:
            await bell.wait(0.02)

    for _ in range(10):
        waiters = [asyncio.create_task(watcher()) for _ in range(100)]
        await asyncio.sleep(rnd.random() * 0.05)
        for task in waiters:
            if rnd.random() < 0.3:
                await _ring(bell)  # a commit while streams are being torn down
            task.cancel()
            if rnd.random() < 0.3:
                await asyncio.sleep(0)
            if rnd.random() < 0.3:
                task.cancel()  # cancelled again while it unwinds
        done, pending = await asyncio.wait(waiters, timeout=2)
        assert not pending, f"{len(pending)} waiters ignored their cancellation"
        assert all(t.cancelled() for t in done)

    await _ring(bell)  # returns at once (times out otherwise)
    woken = asyncio.create_task(bell.wait(30))
    await asyncio.sleep(0.01)
    await _ring(bell)
    async with asyncio.timeout(1):
        assert await woken is True


async def test_a_ring_between_ticket_and_wait_is_not_missed():
    bell = EventBell()
    ticket = bell.ticket()
    bell.ring()  # a commit while the stream was reading
    async with asyncio.timeout(1):
        assert await bell.wait(30, ticket) is True
    assert await bell.wait(0.01) is False  # nothing rang since
