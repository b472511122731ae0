"""Fixtures shared by every test: the local PKI, and stacks of real service processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medpay_kit.pki import ensure_pki
from support.harness import Stack, backends


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_pki(tmp_path_factory.mktemp("pki"))


def _stack(request: pytest.FixtureRequest, tmp: Path, pki: Path, backend: str) -> Iterator[Stack]:
    stack = Stack(tmp, pki, backend)
    failed_before = request.session.testsfailed
    try:
        yield stack
    finally:
        stack.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n----- service logs ({backend}) -----\n{stack.logs()[-20000:]}")


@pytest.fixture(params=backends())
def db_backend(request: pytest.FixtureRequest) -> str:
    """Each database-facing test runs on SQLite and, when configured, PostgreSQL."""
    return request.param


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path, pki: Path, db_backend: str) -> Iterator[Stack]:
    """A fresh stack for one test; start the services it needs with ``stack.start(name)``."""
    yield from _stack(request, tmp_path, pki, db_backend)


@pytest.fixture(scope="module", params=backends())
def module_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 pki: Path) -> Iterator[Stack]:
    """One stack shared by a module's tests (start services in a module fixture)."""
    yield from _stack(request, tmp_path_factory.mktemp("stack"), pki, request.param)
