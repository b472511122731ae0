"""SQLAlchemy's aiosqlite dialect with one thread hop per statement (``sqlite+medpay``).

The stock adapter runs a statement as up to four round trips to aiosqlite's thread
(open a cursor, execute, fetch, close), each waiting for a turn of the event loop. Under
load those turns are what a write transaction mostly waits for, and SQLite's single
writer holds its lock all that time. This adapter does the four steps in one call on the
connection's own thread: the same SQL, the same results, the same errors, one turn.
Everything else (transactions, pooling, error translation) is the stock dialect's.
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


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        conn = self._connection
        try:
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
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        if type(adapted) is AsyncAdapt_aiosqlite_connection:
            return OneHopConnection(self, adapted._connection)
        return adapted  # the sync fallback keeps the stock adapter


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")
