"""Health that tells the truth: NOT_SERVING while the service cannot serve.

Every ``health_interval_s`` the watchdog runs its checks, each within
``health_timeout_s``: a trivial round trip on every database engine (on SQLite the writer
opens ``BEGIN IMMEDIATE``, so a write lock held elsewhere fails it), the service's own
checks (``App.checks``), and that every background job is still running. While a check
fails, the stock health status of ``""`` and of every service is NOT_SERVING; once they
all pass again it is SERVING. Each change is logged once (``health_changed``), as is an
event loop that woke later than the timeout (``event_loop_stalled``): a loop that stalls
cannot answer a health check at all, so a probe's own deadline sees that case.

One probe per interval, nothing per RPC. Checks are cancelled at their timeout, so a
check must hold nothing a cancellation could leave behind (the kit's database and the
SQLite driver are cancellation-safe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog
from grpc_health.v1 import health, health_pb2

log = structlog.get_logger()

Check = Callable[[], Awaitable[object]]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def tasks_running(tasks: Sequence[asyncio.Task]) -> Check:
    """A check that fails once any of ``tasks`` (the background jobs) has ended."""
    async def check() -> None:
        ended = [t.get_name() for t in tasks if t.done()]
        if ended:
            raise RuntimeError(f"background job ended: {', '.join(ended)}")
    return check


class Watchdog:
    def __init__(self, health_servicer: health.aio.HealthServicer, services: Sequence[str],
                 checks: Mapping[str, Check], *, interval_s: float, timeout_s: float) -> None:
        self._health = health_servicer
        self._services = ["", *services]
        self._checks = dict(checks)
        self._interval = interval_s
        self._timeout = timeout_s
        self.serving = True  # the bootstrap sets SERVING once it listens

    async def failing(self) -> str | None:
        """The name of the first check that fails (or times out), or None."""
        for name, check in self._checks.items():
            try:
                async with asyncio.timeout(self._timeout):
                    await check()
            except Exception as exc:  # TimeoutError included: any failure means not serving
                log.warning("health_check_failed", check=name, error=type(exc).__name__)
                return name
        return None

    async def _set(self, serving: bool, failed: str | None) -> None:
        self.serving = serving
        for name in self._services:
            await self._health.set(name, SERVING if serving else NOT_SERVING)
        log.warning("health_changed", status="SERVING" if serving else "NOT_SERVING",
                    failed_check=failed)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            woke = loop.time()
            failed = await self.failing()
            if (failed is None) != self.serving:
                await self._set(failed is None, failed)
            slept = loop.time()
            await asyncio.sleep(self._interval)
            late = loop.time() - slept - self._interval
            if late > self._timeout:
                log.warning("event_loop_stalled", late_s=round(late, 3),
                            probe_s=round(slept - woke, 3))
