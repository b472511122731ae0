"""Fixtures of the fuzz suite: one whole stack per worker and backend, and hypothesis profiles.

``MEDPAY_FUZZ_PROFILE`` picks how hard to look: ``ci`` (the default, bounded so the suite
fits in ``make test``) or ``long`` (``make fuzz``); ``MEDPAY_FUZZ_EXAMPLES`` overrides the
examples per unary RPC. The profiles are applied to the fuzz tests only, never loaded
globally.
"""

from __future__ import annotations

import os

import pytest
from fuzz_world import World, start_world
from hypothesis import HealthCheck, settings

from support.harness import Stack, backends

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much,
          HealthCheck.data_too_large]
#: examples per RPC: a few for the server-streaming ones, which wait for events
PROFILES = {
    "ci": {"unary": 12, "stream": 2, "bytes": 6},
    "long": {"unary": 1500, "stream": 40, "bytes": 300},
}
PROFILE = dict(PROFILES[os.environ.get("MEDPAY_FUZZ_PROFILE", "ci")])
if os.environ.get("MEDPAY_FUZZ_EXAMPLES"):
    PROFILE["unary"] = PROFILE["bytes"] = int(os.environ["MEDPAY_FUZZ_EXAMPLES"])


def fuzz_settings(kind: str) -> settings:
    return settings(max_examples=PROFILE[kind], deadline=None, suppress_health_check=_QUIET,
                    database=None, print_blob=True)


@pytest.fixture(scope="session", params=backends())
def world(request, tmp_path_factory, pki) -> World:
    """identity, card, pharmacy, billing and echo with a caller of every kind."""
    stack = Stack(tmp_path_factory.mktemp("fuzz-world"), pki, request.param)
    failed_before = request.session.testsfailed
    world = None
    try:
        world = start_world(stack, stack.workdir / "keys")
        yield world
    finally:
        if world is not None:
            world.close()
        stack.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n----- service logs ({request.param}) -----\n{stack.logs()[-20000:]}")
