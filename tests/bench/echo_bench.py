"""The framework's ceiling: a bare gRPC echo on the same bootstrap, TLS and interceptors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadgen import Result, closed_loop, open_loop

from medpay.echo.v1 import echo_pb2, echo_pb2_grpc
from medpay_kit.client import service_channel

CONCURRENCY = 16


async def measure_echo(target: str, pki: Path, token: str | None, *, duration: float
                       ) -> tuple[Result, Result]:
    """Maximum throughput (closed loop), then latency at half of it (open loop)."""
    channel = service_channel(target, pki, "client", token=token)
    stub = echo_pb2_grpc.EchoServiceStub(channel)
    request = echo_pb2.EchoRequest(payload=b"0123456789abcdef")

    async def call(_: int) -> object:
        return await stub.Echo(request)

    await closed_loop(call, concurrency=CONCURRENCY, duration=1.0)  # warm up
    peak = await closed_loop(call, concurrency=CONCURRENCY, duration=duration)
    half = await open_loop(call, rate=peak.per_second / 2, duration=duration)
    await channel.close()
    return peak, half


def run_echo(target: str, pki: Path, token: str | None, duration: float) -> tuple[Result, Result]:
    return asyncio.run(measure_echo(target, pki, token, duration=duration))


async def measure_echo_at(target: str, pki: Path, token: str | None, rates: list[float], *,
                          duration: float) -> list[Result]:
    """The echo's latency at given offered rates (to compare a workload's p99 at its rate)."""
    channel = service_channel(target, pki, "client", token=token)
    stub = echo_pb2_grpc.EchoServiceStub(channel)
    request = echo_pb2.EchoRequest(payload=b"0123456789abcdef")

    async def call(_: int) -> object:
        return await stub.Echo(request)

    await closed_loop(call, concurrency=CONCURRENCY, duration=1.0)  # warm up
    results = [await open_loop(call, rate=rate, duration=duration) for rate in rates]
    await channel.close()
    return results


def run_echo_at(target: str, pki: Path, token: str | None, rates: list[float],
                duration: float) -> list[Result]:
    return asyncio.run(measure_echo_at(target, pki, token, rates, duration=duration))
