"""SQLAlchemy's aiosqlite dialect, running statements on the event loop (``sqlite+medpay``).

The stock adapter runs a statement as up to four round trips to aiosqlite's thread (open
a cursor, execute, fetch, close), each waiting for a turn of the event loop. Under load
those turns are what a write transaction mostly waits for, and SQLite's single writer
holds its lock all that time.

In WAL mode with ``synchronous=NORMAL`` a statement is a few microseconds of work on
pages in memory (no fsync at commit) unless it has to wait for another connection's lock.
So this adapter runs every statement, commit and rollback directly on the event loop with
SQLite's busy timeout at zero: nothing can sleep there. A statement SQLite refuses as
busy (another process holds the write lock, say an operator's tool) is tried again after
an ``asyncio.sleep`` (1 ms doubling to 50 ms, like SQLite's own busy handler) until the
configured timeout, so the loop goes on serving meanwhile. The wait is an await between
attempts, never a statement in flight: a caller cancelled while waiting (its deadline
passed, a health probe gave up) leaves the connection idle, ready for its rollback and
the next user. (Retrying on aiosqlite's thread would leave that thread running the
statement after the cancellation, on the connection the loop then rolls back and hands
to the next writer.) Same SQL, same results, same errors; the only difference is where
the rare wait happens.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "medpay"


def _execute(conn: sqlite3.Connection, operation: Any, parameters: Any, many: bool) -> tuple:
    """Execute, fetch everything, close."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description and not many:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _busy(error: Exception) -> bool:
    code = getattr(error, "sqlite_errorcode", 0)
    return isinstance(error, sqlite3.OperationalError) and code & 0xFF == sqlite3.SQLITE_BUSY


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        description, rows, lastrowid, rowcount = self._adapt_connection.run(
            _execute, operation, parameters, many)
        self.description = description
        self.lastrowid = lastrowid
        self.rowcount = rowcount
        if rows is not None:
            self._rows = deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(operation, seq_of_parameters, True)


def _commit(conn: sqlite3.Connection) -> None:
    conn.commit()


def _rollback(conn: sqlite3.Connection) -> None:
    conn.rollback()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("timeout_ms",)

    def __init__(self, dbapi: Any, connection: Any, timeout_ms: int) -> None:
        super().__init__(dbapi, connection)
        self.timeout_ms = timeout_ms

    def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(conn, *args)`` on the event loop, tried again while SQLite says busy."""
        conn = self._connection._conn
        give_up = 0.0
        delay = 0.001
        try:
            while True:
                try:
                    return work(conn, *args)
                except sqlite3.OperationalError as error:
                    if not _busy(error):
                        raise
                    now = time.monotonic()
                    give_up = give_up or now + self.timeout_ms / 1000
                    if now >= give_up:
                        raise
                self.await_(asyncio.sleep(min(delay, give_up - now)))
                delay = min(delay * 2, 0.05)
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        self.run(_commit)

    def rollback(self) -> None:
        self.run(_rollback)

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        timeout_ms = int(float(kw.get("timeout", 5.0)) * 1000)
        kw["timeout"] = 0  # never sleep on the event loop; see _patiently
        kw["check_same_thread"] = False  # the loop's thread and aiosqlite's, never at once
        adapted = super().connect(*arg, **kw)
        if type(adapted) is AsyncAdapt_aiosqlite_connection:
            return OneHopConnection(self, adapted._connection, timeout_ms)
        return adapted  # the sync fallback keeps the stock adapter


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")
