"""Engines, sessions and the unit of work. SQLite and PostgreSQL sit behind the same
API; dialect details stay in this module."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app import json_codec
from app.clock import Clock, SystemClock
from app.db import inline_sqlite, statements
from app.db.errors import RetryableConflict, translated_errors, unavailable
from app.db.savepoints import session_in_savepoint
from app.db.sqlite_writer import SqliteWriter
from app.db.wal_checkpoints import WAL_BACKSTOP_PAGES, WalCheckpointer
from app.errors import ApiError, ErrorCode
from app.observability.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)
WAKEUP_CHANNEL = "temporal_gateway_wakeups"
T = TypeVar("T")


def async_url(url: str) -> str:
    """Accept the plain URLs users write and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def describe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class UnitOfWork:
    """A session inside one transaction, plus callbacks that run only after it commits
    (waking long polls must never precede the commit that made their data visible)."""

    session: AsyncSession
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Wake-ups other processes must hear of (PostgreSQL NOTIFY, sent at commit): a key
    # (JSON) and how many of its waiters to wake (None: all).
    broadcasts: dict[str, int | None] = field(default_factory=dict)
    shard_count: int = 1
    partition_count: int = 1
    # Run in the transaction once the work is done (the work's own changes all made),
    # given this unit of work (a hook holding it would make a reference cycle).
    before_commit: list[Callable[[UnitOfWork], Awaitable[None]]] = field(default_factory=list)
    # Run when the unit of work has ended, committed (after ``after_commit``) or not.
    at_end: list[Callable[[], None]] = field(default_factory=list)
    # Tasks written per task-queue key (app.services.hand_off).
    new_tasks: dict[tuple[str, ...], int] = field(default_factory=dict)
    # False inside another unit of work's transaction, which holds locks of its own:
    # waiting there for a row another transaction holds could deadlock the two, so a
    # run locked elsewhere fails the work at once (PostgreSQL's NOWAIT).
    waits_for_locks: bool = True
    # The app's metrics: what the work did is counted after the commit (``after_commit``).
    metrics: Metrics = NO_METRICS

    def shard_of(self, namespace_id: str, workflow_id: str) -> int:
        return shard_of(namespace_id, workflow_id, self.shard_count)

    def partition_of(self, workflow_id: str, scheduled_event_id: int) -> int:
        """Tasks of one queue spread over its partitions (stable for a given task)."""
        return zlib.crc32(f"{workflow_id}/{scheduled_event_id}".encode()) % self.partition_count

    def broadcast(self, payload: str, count: int | None) -> None:
        """Wake ``count`` of the waiters on a key (JSON) in other processes, or all (None);
        counts for one key add up."""
        if payload in self.broadcasts:
            earlier = self.broadcasts[payload]
            count = None if earlier is None or count is None else earlier + count
        self.broadcasts[payload] = count

    @asynccontextmanager
    async def nested(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work inside this one's transaction that, if it fails, takes back its
        own changes alone: a session of its own (the ORM forgets them too) in a savepoint
        (on SQLite, one of the sqlite3 connection's own too, for the statements that run
        on it straight). It reads what this one wrote."""
        session = self.session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        bind = session.bind
        connection = bind if isinstance(bind, AsyncConnection) else await session.connection()
        straight = statements.runs_straight(session)
        async with session_in_savepoint(connection, "nested_work", straight=straight) as nested:
            yield UnitOfWork(
                nested,
                shard_count=self.shard_count,
                partition_count=self.partition_count,
                waits_for_locks=False,
                metrics=self.metrics,
            )

    async def work_done(self) -> None:
        for hook in self.before_commit:  # a hook may add hooks
            await hook(self)


def _wake_messages(broadcasts: dict[str, int | None]) -> list[str]:
    return [
        json.dumps({"key": json.loads(key), "count": count})
        for key, count in sorted(broadcasts.items())
    ]


def shard_of(namespace_id: str, workflow_id: str, shard_count: int) -> int:
    """The shard a workflow id belongs to, for ever (the count is fixed per database)."""
    return zlib.crc32(f"{namespace_id}/{workflow_id}".encode()) % shard_count


def claim_sqlite_file(url: str) -> IO[bytes] | None:
    """The one-server lock of the SQLite file ``url`` names (None for any other database),
    held until closed; RuntimeError, in one line, when another process holds it. The
    kernel drops the lock of a dead process.

    The lock is the file's own (flock on the database file), not one beside its path: a
    symlink or a hard link to the file reaches the same inode and the same lock, where a
    lock named after the path let a second server in (with a hard link SQLite even
    opened a -wal of its own). flock does not interact with the POSIX locks SQLite
    takes, but closing any descriptor of the file drops those of this process: the lock
    is taken before SQLite opens the file and let go after it has closed it
    (Database.close)."""
    try:
        parsed = make_url(url)
    except ArgumentError:  # not a URL at all: the caller's checks say so
        return None
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database in (None, "", ":memory:"):
        return None
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.open("ab")  # held until closed; "a" keeps the content
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise RuntimeError(
            f"another gateway process is serving {database} (this file, under this or "
            "another name); SQLite serves one process (run several processes on "
            "PostgreSQL)"
        ) from None
    return lock


# JSON columns are written and read through orjson (app.json_codec).
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": json_codec.dumps,
    "json_deserializer": json_codec.loads,
}


class Database:
    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        clock: Clock | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.url = async_url(url)
        self.metrics = metrics
        self.dialect = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        self._write_lock = asyncio.Lock()
        self._server_lock: IO[bytes] | None = None
        # A SQLite file: writes and reads run on held sqlite3 connections (SqliteWriter,
        # _sqlite_read).
        self._sqlite_writer: SqliteWriter | None = None
        self._idle_readers: list[AsyncConnection] = []
        self.shard_count = 1  # the database's own, read at start-up
        self.partition_count = 1  # likewise
        if self.dialect == "sqlite":
            self._prepare_sqlite_path()
            self.writer = self._sqlite_engine(sqlite_synchronous, immediate=True, inline=True)
            if make_url(self.url).database not in (None, "", ":memory:"):
                self._sqlite_writer = SqliteWriter(
                    self.writer,
                    self._unit_of_work,
                    clock or SystemClock(),
                    WalCheckpointer(str(make_url(self.url).database), sqlite_synchronous),
                    metrics,
                )
            self.reader = self._sqlite_engine(sqlite_synchronous, immediate=False, inline=True)
            # Scans of many rows (visibility) run on aiosqlite's threads, where SQLite
            # releases the GIL, so they do not hold up the event loop.
            self.scanner = self._sqlite_engine(sqlite_synchronous, immediate=False, inline=False)
        else:
            self.writer = create_async_engine(
                self.url, pool_size=10, max_overflow=20, **_JSON_CODEC
            )
            self.reader = self.scanner = self.writer

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def claim_sole_server(self, claimed: IO[bytes] | None = None) -> None:
        """SQLite serves one gateway process: its writes are serialized in-process, and
        timers, long polls and queries are coordinated only within a process. A second
        server on the same file is refused (claim_sqlite_file); ``claimed``: the lock,
        taken already (by ``serve``, before anything opened the file)."""
        if self._server_lock is None and self.is_sqlite:
            self._server_lock = claimed or claim_sqlite_file(self.url)

    def _prepare_sqlite_path(self) -> None:
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    def _sqlite_engine(self, synchronous: str, *, immediate: bool, inline: bool) -> AsyncEngine:
        # Pooled: opening a connection runs the pragmas below (and, for the threaded
        # scanner, starts a thread), which cost more than most reads. A pooled reader
        # holds no lock between uses (its transaction ends when the session closes).
        in_memory = make_url(self.url).database in (None, "", ":memory:")
        pooling = (
            {}
            if in_memory
            else {
                "pool_size": 1 if immediate else 8,
                "max_overflow": 0 if immediate else 16,
            }
        )
        if inline and not in_memory:
            path = str(make_url(self.url).database)
            engine = create_async_engine(
                self.url,
                async_creator=partial(inline_sqlite.connect, path, 30),
                # A session's close already ends its transaction; the pool's own
                # rollback on return would be a second round trip through SQLAlchemy.
                pool_reset_on_return=None,
                **pooling,
                **_JSON_CODEC,
            )
        else:
            engine = create_async_engine(
                self.url, connect_args={"timeout": 30}, **pooling, **_JSON_CODEC
            )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event decide how each transaction begins.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL: readers never block the writer nor the writer the readers.
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL fsyncs each commit (power-loss safe); NORMAL only at checkpoints.
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            # Another process holding the lock is waited for instead of failing at once.
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            if immediate and not in_memory:  # app.db.wal_checkpoints checkpoints first
                cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
            cursor.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            # A deferred transaction that reads then writes can deadlock into
            # "database is locked"; writers take the write lock up front.
            driver = connection.connection.driver_connection
            if not isinstance(driver, inline_sqlite.InlineConnection):
                connection.exec_driver_sql(begin)
            elif not driver.sqlite.in_transaction:  # else _sqlite_read began it
                driver.sqlite.execute(begin)  # SQLAlchemy's execution costs more than BEGIN

        return engine

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        """One write transaction. SQLite writes are serialized in-process so that
        "database is locked" never reaches a client."""
        transaction: AbstractAsyncContextManager[UnitOfWork]
        if self._sqlite_writer is not None:
            transaction = self._sqlite_writer.write()
        elif self.is_sqlite:
            transaction = self._locked_transaction()
        else:
            transaction = self._transaction(self.writer)
        ended: list[Callable[[], None]] = []
        try:
            async with transaction as uow:
                ended = uow.at_end
                yield uow
                await uow.work_done()
        finally:
            for callback in ended:
                callback()

    @asynccontextmanager
    async def _locked_transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self._write_lock, self._transaction(self.writer) as uow:
            yield uow

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]], attempts: int = 8) -> T:
        """Run ``work`` in a write transaction, retrying it from a fresh read when it lost a
        race (a compare-and-swap miss or a unique-key collision with a concurrent insert)."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.write() as uow:
                    return await work(uow)
            except (RetryableConflict, IntegrityError):
                if attempt == attempts:
                    raise ApiError(
                        ErrorCode.ABORTED,
                        "The write kept conflicting with concurrent writes; retry.",
                    ) from None
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def read(self, *, scan: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-only session; ``scan`` for queries that may read many rows."""
        if self._sqlite_writer is not None and not scan:
            async with self._sqlite_read() as session:
                yield session
            return
        engine = self.scanner if scan else self.reader
        session = AsyncSession(engine, expire_on_commit=False)
        try:
            yield session
        except OperationalError as exc:
            raise unavailable(exc) from exc
        finally:
            # Not AsyncSession's own exit: it closes in a new task, a turn of the event
            # loop during which the connection is still out, so concurrent reads opened
            # (and then closed) pool overflow connections: 808 opened for 1,600 reads
            # by 16 readers, measured.
            await session.close()

    @asynccontextmanager
    async def _sqlite_read(self) -> AsyncIterator[AsyncSession]:
        """A read on one of the readers' held connections: BEGIN and ROLLBACK straight on
        the sqlite3 connection, the session only closed when the read used the ORM."""
        connection = self._idle_readers.pop() if self._idle_readers else None
        if connection is None:
            connection = await self.reader.connect()
        session = AsyncSession(bind=connection, expire_on_commit=False)
        raw = statements.use_connection(session, connection)
        try:
            statements.run_raw(raw, "BEGIN")
            yield session
        except OperationalError as exc:
            raise unavailable(exc) from exc
        finally:
            if session.in_transaction():
                await session.close()
            if raw.in_transaction:
                raw.rollback()
            self._idle_readers.append(connection)

    @asynccontextmanager
    async def _transaction(self, engine: AsyncEngine) -> AsyncIterator[UnitOfWork]:
        session = AsyncSession(engine, expire_on_commit=False, autoflush=False)
        uow = self._unit_of_work(session)
        try:
            with translated_errors():
                async with session.begin():
                    yield uow
                    if uow.broadcasts and not self.is_sqlite:
                        # NOTIFY is transactional: listeners hear it only if this commits.
                        await session.execute(
                            text(
                                "SELECT pg_notify(:channel, m) "
                                "FROM unnest(CAST(:messages AS text[])) m"
                            ),
                            {"channel": WAKEUP_CHANNEL, "messages": _wake_messages(uow.broadcasts)},
                        )
                    committing = time.perf_counter()
            self.metrics.committed(time.perf_counter() - committing)
        finally:
            await session.close()
        for callback in uow.after_commit:
            callback()

    def _unit_of_work(self, session: AsyncSession) -> UnitOfWork:
        return UnitOfWork(
            session,
            shard_count=self.shard_count,
            partition_count=self.partition_count,
            metrics=self.metrics,
        )

    @asynccontextmanager
    async def writer_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core transaction on the writer's connection, for schema changes and bulk
        loads (on SQLite, the connection the writes hold, taken in turn with them)."""
        if self._sqlite_writer is not None:
            async with self._sqlite_writer.core_transaction() as connection:
                yield connection
            return
        async with self.writer.begin() as connection:
            yield connection

    async def ping(self) -> bool:
        try:
            async with self.read() as session:
                await session.execute(text("SELECT 1"))
            return True
        except (ApiError, DBAPIError, OSError) as exc:
            log.warning("database ping failed: %s", exc.__class__.__name__)
            return False

    async def close(self) -> None:
        if self._sqlite_writer is not None:
            await self._sqlite_writer.close()
        while self._idle_readers:
            await self._idle_readers.pop().close()
        await self.writer.dispose()
        for engine in {self.reader, self.scanner} - {self.writer}:
            await engine.dispose()
        if self._server_lock is not None:  # after SQLite's own descriptors (see above)
            self._server_lock.close()
            self._server_lock = None
