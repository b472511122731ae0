"""Twins: one request fired N times at once, over N separate channels, released together.

A till or a HIS that retries on a lost reply sends the same request (same ``request_id``,
same body) while the first may still be running. Every copy must get the first reply,
byte for byte, or the same refusal. ``fire`` connects every channel first, then releases
all calls through one barrier, and returns each outcome in a comparable form.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import grpc

from medpay_kit.client import error_info

TWINS = 8


def fire(stack, service: str, stub_type: Callable, method: str, request, *,
         token: str | None = None, identity: str = "client", n: int = TWINS,
         timeout: float = 60) -> list[tuple]:
    """Call ``method`` with ``request`` n times at once; each outcome as
    ``("ok", serialized reply)`` or ``("refused", status code name, reason)``."""
    channels = [stack.channel(service, token=token, identity=identity) for _ in range(n)]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=30)
    barrier = Barrier(n)

    def one(channel: grpc.Channel) -> tuple:
        call = getattr(stub_type(channel), method)
        barrier.wait(timeout=30)
        try:
            return ("ok", call(request, timeout=timeout).SerializeToString(deterministic=True))
        except grpc.RpcError as exc:
            info = error_info(exc)
            return ("refused", exc.code().name, info.reason if info else "")

    try:
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(one, channels))
    finally:
        for channel in channels:
            channel.close()


def one_reply(outcomes: list[tuple], response_type=None):
    """All twins got the same outcome, a reply; returns it (parsed when a type is given)."""
    assert len(set(outcomes)) == 1, f"twins got different outcomes: {Counter(outcomes)}"
    kind, *rest = outcomes[0]
    assert kind == "ok", f"the twins were refused: {rest}"
    return response_type.FromString(rest[0]) if response_type is not None else rest[0]
