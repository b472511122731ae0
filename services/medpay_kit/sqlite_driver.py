"""SQLAlchemy's aiosqlite dialect without the per-statement thread hops (``sqlite+medpay``).

The stock adapter runs a statement as up to four round trips to aiosqlite's thread
(open a cursor, execute, fetch, close), each waiting for a turn of the event loop. Under
load those turns are what a write transaction mostly waits for, and SQLite's single
writer holds its lock all that time. This adapter does the four steps in one call.

Where that call runs depends on whether it can wait. A statement that may have to wait
for another process's lock (``BEGIN``, under ``busy_timeout``) goes to the connection's
own thread, so the event loop never sleeps in SQLite's busy handler. Once a connection
holds its transaction, a statement cannot wait for anyone in WAL mode: it is a few
microseconds of work on pages in memory (``synchronous=NORMAL`` writes no fsync at
commit), cheaper to run on the event loop than to hand to a thread and wait for the
loop's next turn. Connections opened with ``inline=True`` do that; the others hop once
per statement. Same SQL, same results, same errors either way.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "medpay"


def _execute(conn: Any, operation: Any, parameters: Any, many: bool) -> tuple:
    """Runs on the aiosqlite thread: execute, fetch everything, close."""
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


def _may_wait(operation: str) -> bool:
    return operation[:5].upper() == "BEGIN"


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        conn = self._connection
        try:
            if self._adapt_connection.inline and not _may_wait(operation):
                description, rows, lastrowid, rowcount = _execute(
                    conn._conn, operation, parameters, many)
            else:
                description, rows, lastrowid, rowcount = self.await_(
                    conn._execute(_execute, conn._conn, operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description = description
        self.lastrowid = lastrowid
        self.rowcount = rowcount
        if rows is not None:
            self._rows = deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(operation, seq_of_parameters, True)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("inline",)

    def __init__(self, dbapi: Any, connection: Any, inline: bool) -> None:
        super().__init__(dbapi, connection)
        self.inline = inline

    def commit(self) -> None:
        if not self.inline:
            return super().commit()
        try:
            self._connection._conn.commit()
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        if not self.inline:
            return super().rollback()
        try:
            self._connection._conn.rollback()
        except Exception as error:
            self._handle_exception(error)

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, inline: bool = False, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        if inline:  # used from the event loop's thread as well as aiosqlite's, never at once
            kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        if type(adapted) is AsyncAdapt_aiosqlite_connection:
            return OneHopConnection(self, adapted._connection, inline)
        return adapted  # the sync fallback keeps the stock adapter


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")
