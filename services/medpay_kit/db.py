"""Async SQLAlchemy for every service: one ``Database`` with a write path and a read path.

SQLite (the embedded default, WAL mode) allows one writer at a time, so writes go through
an engine with a single connection that opens ``BEGIN IMMEDIATE``: writers queue in the
process instead of failing with "database is locked", and readers never block. PostgreSQL
(asyncpg) uses one pooled engine for both paths; guarded updates and row locks in the
repositories keep concurrent writers correct there.

Every transaction is one client span (``db.write`` / ``db.read``, with ``db.system`` and
``db.name``) in the caller's trace, from waiting for a connection to the commit. A span
per statement would cost a quarter of a settlement's CPU; a transaction is the unit that
waits, locks and commits, so it is the unit a trace shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from opentelemetry import trace
from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from medpay_kit import sqlite_driver

_tracer = trace.get_tracer("medpay.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on every backend (SQLite keeps no zone: stored as UTC).

    Naive datetimes are refused on the way in, so a forgotten ``tzinfo`` fails loudly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    """A ``MetaData`` with the naming convention that keeps migrations stable."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_engine(url: str, *, writer: bool) -> AsyncEngine:
    parsed = make_url(url)
    path = parsed.database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_driver_name() == "aiosqlite":  # same driver, one thread hop per statement
        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    engine = create_async_engine(
        parsed,
        pool_size=1 if writer else 4,
        max_overflow=0,
        connect_args={"timeout": 30},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # straight to the driver: nothing to compile, nothing to read back
        conn.connection.cursor().execute("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


class Database:
    """Engines and sessions of one service database."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(url, writer=True)
            self.read_engine = _sqlite_engine(url, writer=False)
        else:
            self.write_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        parsed = make_url(url)
        self._span_attributes = {
            "db.system": "sqlite" if self.is_sqlite else "postgresql",
            "db.name": Path(parsed.database).stem if self.is_sqlite and parsed.database
            else parsed.database or ""}

    @contextmanager
    def _span(self, name: str) -> Iterator[None]:
        """A leaf span: nothing runs inside it that makes spans, so it is not made current."""
        span = _tracer.start_span(name, kind=trace.SpanKind.CLIENT,
                                  attributes=self._span_attributes)
        try:
            yield
        except BaseException as exc:
            span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
            raise
        finally:
            span.end()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction; commits on success, rolls back on error."""
        with self._span("db.write"):
            async with self._writer() as session, session.begin():
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (never commits)."""
        with self._span("db.read"):
            async with self._reader() as session, session.begin():
                yield session

    async def ping(self) -> None:
        """A trivial round trip on every engine, for the health watchdog (no span: it is
        not a request's work). On SQLite the writer opens ``BEGIN IMMEDIATE``, so it fails
        while another process holds the write lock."""
        for engine in self.engines:
            async with engine.connect() as conn:  # run_sync: the SQLite driver never awaits
                await conn.run_sync(lambda sync: sync.execute(text("SELECT 1")))

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        return (self.write_engine,) if self.read_engine is self.write_engine else (
            self.write_engine, self.read_engine)

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()


def admin_engine(url: str) -> AsyncEngine:
    """A throw-away engine for one-off tasks (migrations, tests)."""
    return create_async_engine(url, poolclass=NullPool)
