"""Fixtures of the pharmacy tests: real identity, card and pharmacy processes per module."""

from __future__ import annotations

import pytest
from pharmacy_till import World, start_world


@pytest.fixture(scope="module")
def world(module_stack, tmp_path_factory) -> World:
    """identity, card and pharmacy, started once per module and backend."""
    return start_world(module_stack, tmp_path_factory.mktemp("keys"))
