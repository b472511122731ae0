"""Fixtures of the billing tests: real identity, card and billing processes per module."""

from __future__ import annotations

import pytest
from billing_world import World, start_world


@pytest.fixture(scope="module")
def world(module_stack, tmp_path_factory) -> World:
    """identity, card and billing, started once per module and backend."""
    return start_world(module_stack, tmp_path_factory.mktemp("keys"))
