"""SQLAlchemy's aiosqlite adapter with every statement run on the event loop's thread.

aiosqlite runs each SQLite call in a thread of its own and hands the result back to the
event loop, which picks it up at its next turn. SQLAlchemy's adapter makes four such trips
for every statement (open a cursor, execute, fetch, close). A write transaction holds
SQLite's write lock (``bot.store.db``: one writer connection for the process) across all of its
trips, and under load each trip waits for a whole turn of the loop: in a storm a
five-statement timeline entry held the writer 5-10 ms, almost all of it waiting, and the
pages' bookkeeping crowded the alerts out (measured: 2.7 s of writer time in a 2.8 s storm,
70 % of it not the alerts); readers, four connections, queued the same way.

Here each statement is a direct call on the loop's thread (:class:`InlineCursor`). A
statement takes tens of microseconds, less than one turn of the loop, and a transaction no
longer yields between its statements, so it holds the writer only as long as its own work
takes. (Python holds one lock for both threads anyway: the thread bought no parallelism.)
A statement that finds the database locked by another process (the CLI, a second replica)
does not block the loop: SQLite's own busy timeout is 0 on these connections, and the cursor
waits with ``asyncio.sleep`` and tries again, up to the connection's ``busy_timeout``.

Transactions, errors and connecting are SQLAlchemy's and aiosqlite's own; only the cursor
(and commit and rollback) differ. ``Connection._conn``, which aiosqlite keeps for its own
use, is checked at import, so an aiosqlite without it fails at start-up, not during a page.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import immutabledict
from sqlalchemy.util.concurrency import await_, in_greenlet

if not hasattr(aiosqlite.Connection, "_conn"):  # pragma: no cover - a future aiosqlite
    raise ImportError("aiosqlite.Connection has no _conn: bot.store.sqlite_driver needs updating")

SQLITE_BUSY = 5
FIRST_WAIT = 0.001  # seconds before trying a locked statement again, doubling
MAX_WAIT = 0.05


class _Result:
    """What one statement left on the cursor."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor, *, fetch: bool) -> None:
        self.description = cursor.description
        self.rows: list[Any] = cursor.fetchall() if fetch and cursor.description else []
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid


Run = Callable[[sqlite3.Connection, Any, Any], _Result]


def _run_one(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Result:
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        return _Result(cursor, fetch=True)
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, operation: str, seq: Sequence[Any]) -> _Result:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, seq)
        return _Result(cursor, fetch=False)
    finally:
        cursor.close()


def is_busy(exc: BaseException) -> bool:
    """Did SQLite refuse because another connection holds the lock (worth trying again)?"""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == SQLITE_BUSY
    return isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc)


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement is a direct call on the loop's thread (see the module docstring); its
    rows are kept here, and no driver cursor stays open."""

    __slots__ = ("_last",)

    def __init__(self, adapt_connection: Any) -> None:
        # No driver cursor is opened here (that was a trip of its own): each statement
        # opens, uses and closes one.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = immutabledict()
        self._rows = collections.deque()
        self._last: _Result | None = None

    @property
    def description(self) -> Any:
        return None if self._last is None else self._last.description

    @property
    def rowcount(self) -> int:
        return -1 if self._last is None else int(self._last.rowcount)

    @property
    def lastrowid(self) -> Any:
        return None if self._last is None else self._last.lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None  # nothing is open; the rows stay buffered

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            self._keep(self._run(_run_one, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            self._keep(self._run(_run_many, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def _keep(self, result: _Result) -> None:
        self._last = result
        self._rows = collections.deque(result.rows)

    def _run(self, fn: Run, operation: Any, parameters: Any) -> _Result:
        _touch_loop()
        conn: sqlite3.Connection = self._connection._conn
        adapt: _InlineConnection = self._adapt_connection  # type: ignore[assignment]
        result: _Result = _patiently(adapt, lambda: fn(conn, operation, parameters))
        return result


async def _done() -> None:
    return None


def _touch_loop() -> None:
    """Hand SQLAlchemy's async layer one awaitable that is already done: ``AsyncConnection``
    insists that a statement awaited something, and this does not wait for the loop."""
    if in_greenlet():
        await_(_done())


def _patiently(adapt: _InlineConnection, call: Callable[[], Any]) -> Any:
    """Run ``call`` on the loop's thread; while SQLite says another process holds the lock,
    wait without blocking the loop and try again, up to ``adapt.busy_timeout`` seconds."""
    deadline: float | None = None
    wait = FIRST_WAIT
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + adapt.busy_timeout
            if now >= deadline:
                raise
            await_(asyncio.sleep(min(wait, deadline - now)))
            wait = min(wait * 2, MAX_WAIT)


class _InlineConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("busy_timeout",)
    _cursor_cls = InlineCursor
    busy_timeout: float  # seconds a statement waits for another process's lock

    def commit(self) -> None:
        self._inline(lambda conn: conn.commit())

    def rollback(self) -> None:
        self._inline(lambda conn: conn.rollback())

    def _inline(self, step: Callable[[sqlite3.Connection], None]) -> None:
        if not self._connection._connection:  # closed: as SQLAlchemy's adapter does, nothing
            return
        conn: sqlite3.Connection = self._connection._conn
        try:
            _patiently(self, lambda: step(conn))
        except Exception as error:
            self._handle_exception(error)


class Dbapi(AsyncAdapt_aiosqlite_dbapi):
    """Pass as ``module=`` to ``create_async_engine`` for a ``sqlite+aiosqlite`` URL, with
    ``check_same_thread: False`` and SQLite's own busy timeout 0 on each connection."""

    def __init__(self, *, busy_timeout: float) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.busy_timeout = busy_timeout

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        conn = _InlineConnection(self, super().connect(*arg, **kw)._connection)
        conn.busy_timeout = self.busy_timeout
        return conn


def set_busy_timeout(dbapi_connection: Any, seconds: float) -> float:
    """Set how long a connection's statements wait for another process's lock; the old
    value (``/healthz`` waits one second, not thirty)."""
    if not isinstance(dbapi_connection, _InlineConnection):
        raise TypeError("not a connection of bot.store.sqlite_driver")
    before = float(dbapi_connection.busy_timeout)
    dbapi_connection.busy_timeout = seconds
    return before
