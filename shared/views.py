"""Storage for projections (read models): SQL tables plus a per-stream position, on SQLite or PostgreSQL.

A view's change and its new position are written in one transaction and a message at or below the
stored position is skipped, so each message is applied exactly once. Views are disposable: they are
dropped and rebuilt from the event stores.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generator, Iterable, Iterator, Protocol, Sequence, TypeVar

from shared.errors import NotFound


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


T = TypeVar("T")

# A read as a plan of round trips: a generator that yields each statement, (sql, params), is sent its rows
# and returns the answer. The same plan runs on a cursor in a thread (``ViewDatabase.run``) or on the
# event loop without one (``ViewDatabase.arun``: PostgreSQL's asynchronous driver).
Plan = Generator[tuple[str, Sequence[Any]], list[Any], T]


def run_plan(cursor: Cursor, plan: Plan[T]) -> T:
    """Drive a plan on a cursor: each statement it yields is executed and its rows sent back."""
    try:
        statement = next(plan)
        while True:
            cursor.execute(*statement)
            statement = plan.send(cursor.fetchall())
    except StopIteration as done:
        return done.value


class ViewDatabase:
    """A minimal SQL facade: statements are written with ``?`` placeholders and portable types."""

    dialect: str
    serial_primary_key: str
    lock_rows = ""  # appended to a SELECT whose rows the transaction will update

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:  # pragma: no cover - interface
        raise NotImplementedError
        yield

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A consistent read that never waits for writers (where the database allows)."""
        with self.transaction() as cursor:
            yield cursor

    def close(self) -> None:  # pragma: no cover - interface
        pass

    def read_row(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """One row of one statement: what a lookup needs, without a transaction around it where the
        database allows (one round trip on PostgreSQL instead of three)."""
        with self.read() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    def run(self, plan: Plan[T]) -> T:
        """A plan in one consistent read."""
        with self.read() as cursor:
            return run_plan(cursor, plan)

    async def arun(self, plan: Plan[T]) -> T:
        """A plan for a request handler on the event loop. Here inline (SQLite: an indexed read takes
        microseconds and never waits for a writer, which is cheaper than the thread pool's hand-off)."""
        return self.run(plan)

    async def aclose(self) -> None:
        """Close what ``arun`` opened on the running event loop (before the loop ends)."""


class SQLiteViews(ViewDatabase):
    dialect = "sqlite"
    serial_primary_key = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self._path = path
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        if self._path == ":memory:":
            with self.transaction() as cursor:
                yield cursor
            return
        conn = getattr(self._readers, "conn", None)
        if conn is None:  # one reader per thread: WAL readers see a snapshot and never block the writer
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=30)
            self._readers.conn = conn
            with self._lock:
                self._reader_connections.append(conn)
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        try:
            yield cursor
        finally:
            cursor.execute("COMMIT")

    def close(self) -> None:
        for conn in self._reader_connections:
            conn.close()
        self._conn.close()


class _PgCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class PostgresViews(ViewDatabase):
    dialect = "postgres"
    serial_primary_key = "BIGSERIAL PRIMARY KEY"
    lock_rows = " FOR UPDATE"

    # Connections for the request handlers' reads on the event loop (arun), beyond which a read waits for
    # one: about one per core. More let more queries run at once than the cores can serve, and the waiting
    # ones made the tail: at 8 connections on 2 cores a lookup by number took 48 ms at p99, at 2 it took 8.
    ASYNC_POOL_SIZE = max(2, min(8, os.cpu_count() or 2))

    def __init__(self, conninfo: str, schema: str, pool_size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        self.schema = schema
        self._conninfo = conninfo
        # Autocommit: transaction() opens its transactions explicitly, and read_row's single statement
        # (and each statement of an arun plan) needs none.
        # No JIT: a view's reads take milliseconds, which compiling a plan for the larger ones (a search
        # that falls back on the GIN index) would multiply. No parallel workers: a read serves one request
        # among many, on cores the other requests need. A plan for the values given, always: psycopg
        # prepares a statement run five times, after which PostgreSQL may keep a generic plan, blind to how
        # many certificates hold a search's words (one such plan for a search took seconds, not a millisecond).
        self._kwargs = {"options": f"-c search_path={schema} -c jit=off -c max_parallel_workers_per_gather=0"
                                   " -c plan_cache_mode=force_custom_plan", "autocommit": True}
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=True, kwargs=self._kwargs)
        # arun's pool, bound to the event loop that opened it (a test client runs each app on a loop of its own)
        self._async_pool: Any = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._async_opened: asyncio.Future | None = None
        with self._pool.connection() as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn:
            with conn.transaction():
                with conn.cursor() as cursor:
                    yield _PgCursor(cursor)

    def read_row(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._pool.connection() as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchone()

    async def arun(self, plan: Plan[T]) -> T:
        """A plan on the event loop, through psycopg's asynchronous driver: no thread hand-off per round
        trip (a thread that comes back from PostgreSQL waits for the interpreter's lock while the loop
        serves other requests, which made the tail of a busy directory ten times its median). Each
        statement is its own snapshot: a plan's statements must not need to see the same one."""
        pool = await self._opened_async_pool()
        async with pool.connection() as conn:
            try:
                sql, params = next(plan)
                while True:
                    cursor = await conn.execute(sql.replace("?", "%s"), params)
                    sql, params = plan.send(await cursor.fetchall())
            except StopIteration as done:
                return done.value

    async def _opened_async_pool(self) -> Any:
        loop = asyncio.get_running_loop()
        opened = self._async_opened
        failed = opened is not None and opened.done() and (opened.cancelled() or opened.exception() is not None)
        if self._async_loop is not loop or failed:  # first use on this loop (checked and set before any await)
            from psycopg_pool import AsyncConnectionPool

            self._async_pool = AsyncConnectionPool(self._conninfo, min_size=1, max_size=self.ASYNC_POOL_SIZE,
                                                   open=False, kwargs=self._kwargs)
            self._async_loop = loop
            self._async_opened = asyncio.ensure_future(self._async_pool.open())
        assert self._async_opened is not None
        await asyncio.shield(self._async_opened)
        return self._async_pool

    async def aclose(self) -> None:
        if self._async_pool is not None and self._async_loop is asyncio.get_running_loop():
            pool, self._async_pool, self._async_loop = self._async_pool, None, None
            await pool.close()

    def close(self) -> None:
        self._pool.close()


class View:
    """A projection's tables and its positions. Subclasses declare tables and handle messages."""

    name: str
    tables: tuple[str, ...] = ()
    # Raise when the tables or what handle() writes change: the view is then dropped at start-up and
    # rebuilt from the event stores by its consumer, so an upgrade never serves a stale shape.
    version = 1

    def __init__(self, db: ViewDatabase) -> None:
        self.db = db
        self.create()
        if self._stored_version() != self.version:
            self.drop()

    def schema(self) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def create(self) -> None:
        with self.db.transaction() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS view_positions "
                "(view TEXT NOT NULL, stream TEXT NOT NULL, position BIGINT NOT NULL, "
                "PRIMARY KEY (view, stream))"
            )
            c.execute(
                "CREATE TABLE IF NOT EXISTS view_parked_messages "
                "(view TEXT NOT NULL, message_id TEXT NOT NULL, stream TEXT NOT NULL, position BIGINT NOT NULL, "
                "type TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY (view, message_id))"
            )
            c.execute(
                "CREATE TABLE IF NOT EXISTS view_parked_resolutions "
                "(view TEXT NOT NULL, message_id TEXT NOT NULL, stream TEXT NOT NULL, position BIGINT NOT NULL, "
                "type TEXT NOT NULL, error TEXT NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL, "
                "reason TEXT NOT NULL, at TEXT NOT NULL)"
            )
            c.execute("CREATE TABLE IF NOT EXISTS view_versions (view TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            for statement in self.schema():
                c.execute(statement)

    def _stored_version(self) -> int | None:
        with self.db.transaction() as c:
            c.execute("SELECT version FROM view_versions WHERE view = ?", (self.name,))
            row = c.fetchone()
        return None if row is None else int(row[0])

    def drop(self) -> None:
        with self.db.transaction() as c:
            for table in self.tables:
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute("DELETE FROM view_positions WHERE view = ?", (self.name,))
            c.execute("DELETE FROM view_parked_messages WHERE view = ?", (self.name,))
            c.execute("DELETE FROM view_versions WHERE view = ?", (self.name,))
            c.execute("INSERT INTO view_versions (view, version) VALUES (?, ?)", (self.name, self.version))
        self.create()

    def position(self, stream: str) -> int | None:
        with self.db.read() as c:
            c.execute("SELECT position FROM view_positions WHERE view = ? AND stream = ?", (self.name, stream))
            row = c.fetchone()
        return None if row is None else int(row[0])

    def apply(self, message: Any) -> None:
        self._apply(message, self.handle)

    def park(self, message: Any, error: str) -> None:
        def keep(c: Cursor, m: Any) -> None:
            c.execute(
                "INSERT INTO view_parked_messages (view, message_id, stream, position, type, error)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (self.name, m.id, m.stream, m.position, m.type, error),
            )

        self._apply(message, keep)

    def parked_messages(self, streams: Iterable[str]) -> list[dict[str, Any]]:
        """The messages this view could not apply and still holds (they survive restarts)."""
        wanted = set(streams)
        with self.db.read() as c:
            c.execute(
                "SELECT message_id, stream, position, type, error FROM view_parked_messages WHERE view = ? "
                "ORDER BY stream, position", (self.name,))
            rows = c.fetchall()
        return [{"message_id": r[0], "stream": r[1], "position": int(r[2]), "type": r[3], "error": r[4],
                 "status": "parked"} for r in rows if r[1] in wanted]

    def retry_parked(self, message: Any, actor: str, reason: str) -> None:
        """Apply a parked message now, out of its original order; nothing changes if it fails again."""
        self._resolve(message.id, "retried", actor, reason, lambda c: self.handle(c, message))

    def discard_parked(self, message_id: str, actor: str, reason: str) -> None:
        self._resolve(message_id, "discarded", actor, reason, lambda c: None)

    def _resolve(self, message_id: str, action: str, actor: str, reason: str, effect: Any) -> None:
        with self.db.transaction() as c:
            c.execute(
                "SELECT stream, position, type, error FROM view_parked_messages WHERE view = ? AND message_id = ?"
                + self.db.lock_rows, (self.name, message_id))
            row = c.fetchone()
            if row is None:
                raise NotFound(f"{self.name} holds no parked message {message_id}")
            effect(c)
            c.execute("DELETE FROM view_parked_messages WHERE view = ? AND message_id = ?", (self.name, message_id))
            c.execute(
                "INSERT INTO view_parked_resolutions (view, message_id, stream, position, type, error, action, actor, "
                "reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.name, message_id, row[0], row[1], row[2], row[3], action, actor, reason,
                 datetime.now(UTC).isoformat()))

    def _apply(self, message: Any, effect: Any) -> None:
        with self.db.transaction() as c:
            c.execute(
                "SELECT position FROM view_positions WHERE view = ? AND stream = ?" + self.db.lock_rows,
                (self.name, message.stream),
            )
            row = c.fetchone()
            if row is not None and message.position <= int(row[0]):
                return  # already applied
            effect(c, message)
            if row is None:
                c.execute(
                    "INSERT INTO view_positions (view, stream, position) VALUES (?, ?, ?)",
                    (self.name, message.stream, message.position),
                )
            else:
                c.execute(
                    "UPDATE view_positions SET position = ? WHERE view = ? AND stream = ?",
                    (message.position, self.name, message.stream),
                )

    def handle(self, c: Cursor, message: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError
