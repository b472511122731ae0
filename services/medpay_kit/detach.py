"""Work that a caller's cancellation must not cut in half.

grpc.aio cancels a handler when its caller cancels the call or its deadline passes. A use
case that has claimed something shared (a visit CLOSING under its lease, a settlement or
refund PENDING under its lease, a bill's one payment slot) and then calls card or the
payment channel would, cancelled in between, keep that claim until its lease runs out and
a recovery loop takes over: the object stays blocked for every other caller meanwhile.

``await run_to_end(work)`` runs such a claim-and-drive as a task of its own, with the
caller's context (log fields, trace) but not its deadline: the caller may stop waiting,
the work goes on to its end, bounded by the peer timeout of each call it makes (as the
recovery loop's work is), and lets go of what it holds. A process that stops meanwhile
leaves it to recovery, as a crash would.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

from medpay_kit.interceptor import call_deadline

log = structlog.get_logger()
T = TypeVar("T")

_running: set[asyncio.Task[Any]] = set()  # strong references: the loop keeps only weak ones


async def run_to_end(work: Coroutine[Any, Any, T]) -> T:
    context = contextvars.copy_context()
    context.run(call_deadline.set, None)  # a departed caller's deadline must not cut it short
    task = asyncio.get_running_loop().create_task(work, context=context)
    _running.add(task)
    task.add_done_callback(_running.discard)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_report_orphan)
        raise


def _report_orphan(task: asyncio.Task[Any]) -> None:
    """The caller left: nobody else will see how the work ended."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("detached_work_failed", error=type(error).__name__,
                    reason=getattr(error, "reason", None))
