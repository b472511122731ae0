"""Alembic migrations per service, driven from code.

Each service has ``migrations/`` with an ``env.py`` that calls :func:`run_env` with its
metadata. Services upgrade to head at start; ``python -m medpay_kit.migrations <svc> <url>``
does the same by hand.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Connection

from medpay_kit.db import admin_engine, new_metadata


def alembic_config(package: str, url: str) -> Config:
    module = importlib.import_module(package)
    script_location = Path(module.__file__).parent / "migrations"  # type: ignore[arg-type]
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(package: str, url: str) -> None:
    """Upgrade a service database to head (blocking; call off the event loop)."""
    command.upgrade(alembic_config(package, url), "head")


def create_shared_table(op, table_factory: Callable[[MetaData], Table]) -> None:  # type: ignore[no-untyped-def]
    """In a migration: create a table the kit defines (idempotency keys, channel transactions)."""
    table_factory(new_metadata()).create(op.get_bind())


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py`` (online mode, async engines)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = admin_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())


if __name__ == "__main__":  # pragma: no cover - operator convenience
    upgrade(f"medpay_{sys.argv[1]}", sys.argv[2])
