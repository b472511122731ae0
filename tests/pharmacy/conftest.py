"""Fixtures of the pharmacy tests: one set of real identity, card and pharmacy processes.

The processes are shared by every pharmacy test module of a worker (per backend): each test
registers its own pharmacy and insured people, so nothing is shared but the processes.
Tests that crash a process or move the clock start their own stack (``stack``).
"""

from __future__ import annotations

import pytest
from pharmacy_till import World, start_world

from support.harness import Stack, backends


@pytest.fixture(scope="session", params=backends())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pki) -> World:
    """identity, card and pharmacy, started once per worker and backend."""
    stack = Stack(tmp_path_factory.mktemp("pharmacy-world"), pki, request.param)
    failed_before = request.session.testsfailed
    try:
        yield start_world(stack, stack.workdir / "keys")
    finally:
        stack.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n----- service logs ({request.param}) -----\n{stack.logs()[-20000:]}")
