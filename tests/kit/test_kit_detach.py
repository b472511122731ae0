"""run_to_end: the caller may stop waiting; the work it started goes on to its end, without
the departed caller's deadline, and a failure nobody waits for any more is logged."""

from __future__ import annotations

import asyncio

import pytest

from medpay_kit.detach import run_to_end
from medpay_kit.interceptor import call_deadline


async def test_the_work_finishes_after_its_caller_is_cancelled():
    released = asyncio.Event()
    deadlines: list[float | None] = []

    async def claim_and_drive() -> str:
        deadlines.append(call_deadline.get())
        await asyncio.sleep(0.05)  # a peer call
        released.set()  # the lease let go
        return "done"

    async def handler() -> str:
        call_deadline.set(0.01)  # what the interceptor sets for a caller with 10 ms left
        return await run_to_end(claim_and_drive())

    call = asyncio.create_task(handler())
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    async with asyncio.timeout(2):
        await released.wait()
    assert deadlines == [None]


async def test_a_waiting_caller_gets_the_result_and_the_error():
    async def ok() -> int:
        await asyncio.sleep(0)
        return 7

    async def refused() -> None:
        raise ValueError("no")

    assert await run_to_end(ok()) == 7
    with pytest.raises(ValueError):
        await run_to_end(refused())
