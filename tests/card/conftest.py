"""The card tests' default issuer: card (and identity) started once per module's stack.

A module that needs other settings (hold expiry, sweeps) defines its own ``issuer``.
"""

from __future__ import annotations

import pytest
from cardtest import start_card


@pytest.fixture(scope="module")
def issuer(module_stack, tmp_path_factory):
    start_card(module_stack, tmp_path_factory.mktemp("keys"))
    return module_stack
