"""Fixtures of the billing tests: real identity, card and billing processes.

``world`` is one stack per test worker and backend, shared by every module that neither
moves the clock nor restarts a process (each test makes its own hospitals and people, so
they do not see each other). Modules that move the clock or kill billing override
``world`` with their own module-scoped stack.
"""

from __future__ import annotations

import pytest
from billing_world import World, start_world

from support.harness import Stack, backends


@pytest.fixture(scope="session", params=backends())
def world(request, tmp_path_factory, pki):
    """identity, card and billing, started once per worker and backend."""
    stack = Stack(tmp_path_factory.mktemp("billing-stack"), pki, request.param)
    failed_before = request.session.testsfailed
    try:
        yield start_world(stack, tmp_path_factory.mktemp("keys"))
    finally:
        stack.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n----- service logs ({request.param}) -----\n{stack.logs()[-20000:]}")


@pytest.fixture(scope="module")
def own_world(module_stack, tmp_path_factory) -> World:
    """A stack of this module's own (for modules that move its clock or restart billing)."""
    # short leases so recovery takes over soon after a crash, but a peer timeout that a
    # loaded CI machine still meets (the lease must outlive it)
    return start_world(module_stack, tmp_path_factory.mktemp("keys"),
                       lease_s="10", peer_timeout_s="8", recovery_interval_s="0.3")
