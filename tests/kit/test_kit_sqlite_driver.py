"""The SQLite driver runs statements on the event loop, yet never sleeps there.

When another connection (another process, an operator's tool) holds the write lock, a
service's write waits for it between attempts on the event loop, which goes on serving; the
write then succeeds. The other connection lets go only after the event loop has ticked
five times, so a loop asleep in SQLite's busy handler would get the lock only once the
30 s busy timeout had run out (the write then fails, or finishes that late).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from medpay_kit.db import Database


async def test_a_write_waits_for_another_connections_lock_off_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "locks.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while ticks < 5:
                await asyncio.sleep(0.02)
                ticks += 1
            other.execute("INSERT INTO t VALUES (1)")
            other.execute("COMMIT")

        beating = asyncio.create_task(heartbeat())
        started = time.monotonic()
        async with db.write() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.monotonic() - started
        await beating
        assert waited < 15, "the write waited out the busy timeout: the loop was blocked"
        async with db.read() as session:
            rows = (await session.execute(text("SELECT x FROM t ORDER BY rowid"))).scalars().all()
        assert rows == [1, 2]  # the service's write committed after the other's
        assert ticks == 5
        other.close()
    finally:
        await db.dispose()


async def test_a_refused_statement_rolls_back_and_the_connection_stays_usable(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'errors.db'}")
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        try:
            async with db.write() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))
        except Exception as exc:
            assert "UNIQUE" in str(exc)
        else:
            raise AssertionError("a duplicate key was accepted")
        async with db.write() as session:
            await session.execute(text("INSERT INTO t VALUES (3)"))
        async with db.read() as session:
            rows = (await session.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
        assert rows == [1, 3]
    finally:
        await db.dispose()


async def test_a_write_cancelled_while_waiting_for_the_lock_leaves_the_writer_usable(
        tmp_path: Path) -> None:
    """A caller whose deadline passes while another process holds the write lock gives up;
    the service's one writer connection is left idle, so the next write works."""
    path = tmp_path / "cancel.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        for _ in range(3):
            try:
                async with asyncio.timeout(0.2), db.write() as session:
                    await session.execute(text("INSERT INTO t VALUES (9)"))
            except TimeoutError:
                pass
            else:
                raise AssertionError("wrote while another connection held the lock")
        other.execute("COMMIT")
        other.close()
        async with asyncio.timeout(5), db.write() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
        async with db.read() as session:
            rows = (await session.execute(text("SELECT x FROM t"))).scalars().all()
        assert rows == [2]
    finally:
        await db.dispose()
