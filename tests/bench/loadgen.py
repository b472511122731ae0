"""An asyncio load generator with HDR-histogram latencies.

* ``closed_loop``: N calls always in flight for a duration — the maximum throughput.
* ``open_loop``: calls started on a fixed schedule (offered rate), whatever the server
  does; latency is measured from each call's *scheduled* start, so a stalled server is
  charged for the queue it causes (no coordinated omission).

The same generator drives the echo and the settlement so their ratio is fair.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

Call = Callable[[int], Awaitable[object]]


@dataclass
class Result:
    calls: int
    errors: int
    seconds: float
    histogram: HdrHistogram

    @property
    def per_second(self) -> float:
        return (self.calls - self.errors) / self.seconds if self.seconds else 0.0

    def ms(self, percentile: float) -> float:
        return self.histogram.get_value_at_percentile(percentile) / 1000.0

    def as_dict(self) -> dict[str, float]:
        return {"calls": self.calls, "errors": self.errors, "seconds": round(self.seconds, 3),
                "per_second": round(self.per_second, 1), "p50_ms": self.ms(50),
                "p99_ms": self.ms(99), "max_ms": self.histogram.get_max_value() / 1000.0}


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, 120_000_000, 3)  # 1 µs .. 120 s


async def closed_loop(call: Call, *, concurrency: int, duration: float, first: int = 0) -> Result:
    hist, counter, errors = _histogram(), [first], [0]
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < deadline:
            i = counter[0]
            counter[0] += 1
            start = time.perf_counter()
            try:
                await call(i)
            except Exception:  # counted; the run goes on
                errors[0] += 1
            hist.record_value(max(1, int((time.perf_counter() - start) * 1e6)))

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(counter[0] - first, errors[0], time.perf_counter() - began, hist)


async def open_loop(call: Call, *, rate: float, duration: float, first: int = 0,
                    max_in_flight: int = 2000) -> Result:
    hist, errors = _histogram(), [0]
    total = int(rate * duration)
    gate = asyncio.Semaphore(max_in_flight)
    began = time.perf_counter()

    async def one(i: int, scheduled: float) -> None:
        async with gate:
            try:
                await call(first + i)
            except Exception:  # counted; the run goes on
                errors[0] += 1
        hist.record_value(max(1, int((time.perf_counter() - scheduled) * 1e6)))

    tasks = []
    for i in range(total):
        scheduled = began + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    return Result(total, errors[0], time.perf_counter() - began, hist)
