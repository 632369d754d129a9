"""The SQLite writer with group commit.

One connection, held for the process, takes every write in turn. Writes that queue while
one runs or while a commit is being made durable share one transaction: each unit of work
runs inside a savepoint of it (a failing one rolls back only its own), and all are
acknowledged together once the transaction commits. The commit, whose fsync is most of a
small write's cost, runs on a thread of its own, so the event loop goes on serving (and
queueing the next group) meanwhile; a write that finds the writer idle commits at once on
the loop's thread. No unit of work returns (nor fails) before its group's commit is
durable, and a failed commit fails every unit of work it held."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, AsyncTransaction

from app.clock import Clock
from app.db import statements
from app.db.errors import translated_errors, unavailable
from app.db.savepoints import session_in_savepoint
from app.db.wal_checkpoints import WalCheckpointer
from app.observability.metrics import Metrics

if TYPE_CHECKING:
    from app.db.database import UnitOfWork

log = logging.getLogger(__name__)
# A write that finds the writer idle this long commits on the event loop's thread: no
# other write could join it soon, and the hand-off to the commit thread (~0.1 ms) is
# saved. Writes that follow closely hand their commit over, so groups still form.
IDLE = timedelta(milliseconds=10)


@dataclass(eq=False)
class _Group:
    """Units of work sharing one transaction; ``durable`` resolves when it has committed
    (to None) or failed (to the error)."""

    transaction: AsyncTransaction
    durable: asyncio.Future[BaseException | None]
    opened: datetime
    committer: asyncio.Task[None] | None = None


class SqliteWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        unit_of_work: Callable[[AsyncSession], UnitOfWork],
        clock: Clock,
        checkpoints: WalCheckpointer,
        metrics: Metrics,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._unit_of_work = unit_of_work
        self._clock = clock
        self.checkpoints = checkpoints
        self._lock = asyncio.Lock()
        self._queued = 0  # units of work waiting for the lock
        self._last_commit: datetime | None = None  # when the last commit ended
        self._connection: AsyncConnection | None = None
        self._group: _Group | None = None
        self._committer_thread: ThreadPoolExecutor | None = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        self._queued += 1
        try:
            await self._lock.acquire()
        finally:
            self._queued -= 1
        handed_over = False
        failed: Exception | None = None
        try:
            with translated_errors():
                group = await self._open_group()
            connection = self._connection
            assert connection is not None
            try:
                with translated_errors():
                    try:
                        async with session_in_savepoint(
                            connection, "unit_of_work", straight=True
                        ) as session:
                            uow = self._unit_of_work(session)
                            yield uow
                    except BaseException:
                        if not statements.raw_connection(connection).in_transaction:
                            # SQLite ended the whole transaction (an I/O error, say).
                            await self._fail(group, RuntimeError("the transaction was lost"))
                        raise
            except Exception as exc:
                # Answered once the group is durable: what this work read may have been
                # written by others in the group, and stands only if they commit.
                failed = exc
            finally:
                if self._group is group:
                    if self._queued == 0 and self._idle_before(group):
                        await self._commit(group, inline=True)
                    elif self._queued == 0:
                        group.committer = asyncio.create_task(self._commit_then_unlock(group))
                        handed_over = True
                    elif group.committer is None:
                        group.committer = asyncio.create_task(self._commit_in_turn(group))
        finally:
            if not handed_over:
                self._lock.release()
        failure = await asyncio.shield(group.durable)
        if failure is not None:
            raise unavailable(failure)
        if failed is not None:
            raise failed
        for callback in uow.after_commit:
            callback()

    @asynccontextmanager
    async def core_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core transaction of its own on the writer's connection (schema changes, bulk
        loads), after the open group has committed."""
        async with self._lock:
            if self._group is not None:
                await self._commit(self._group)
            connection = await self._held_connection()
            async with connection.begin():
                yield connection

    async def close(self) -> None:
        async with self._lock:
            if self._group is not None:
                await self._commit(self._group)
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
            if self._committer_thread is not None:
                self._committer_thread.shutdown(wait=True)
                self._committer_thread = None
            await self.checkpoints.close()

    async def _open_group(self) -> _Group:
        if self._group is None:
            connection = await self._held_connection()
            # The engine's begin event issues BEGIN IMMEDIATE on the sqlite3 connection.
            transaction = await connection.begin()
            future = asyncio.get_running_loop().create_future()
            self._group = _Group(transaction, future, self._clock.now())
        return self._group

    async def _held_connection(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self._engine.connect()
        return self._connection

    async def _commit_then_unlock(self, group: _Group) -> None:
        try:
            await self._commit(group)
        finally:
            self._lock.release()

    async def _commit_in_turn(self, group: _Group) -> None:
        """Commit after the units of work queued now: the lock is taken in turn."""
        async with self._lock:
            if self._group is group:
                await self._commit(group)

    def _idle_before(self, group: _Group) -> bool:
        return self._last_commit is None or group.opened - self._last_commit > IDLE

    async def _commit(self, group: _Group, *, inline: bool = False) -> None:
        self._group = None
        assert self._connection is not None
        raw = statements.raw_connection(self._connection)
        try:
            committing = time.perf_counter()
            if inline:
                raw.commit()
            else:
                await asyncio.get_running_loop().run_in_executor(self._thread(), raw.commit)
            self._metrics.committed(time.perf_counter() - committing)
            await group.transaction.commit()  # SQLAlchemy's bookkeeping; nothing is left
        except Exception as exc:
            log.error("a group commit failed: %s", exc)
            await self._fail(group, exc)
        else:
            group.durable.set_result(None)
            self.checkpoints.committed()
        finally:
            self._last_commit = self._clock.now()

    def _thread(self) -> ThreadPoolExecutor:
        if self._committer_thread is None:
            self._committer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")
        return self._committer_thread

    async def _fail(self, group: _Group, error: BaseException) -> None:
        if self._group is group:
            self._group = None
        if group.transaction.is_active:
            try:
                await group.transaction.rollback()
            except Exception as exc:  # the connection is gone: a fresh one next time
                log.error("rolling back a failed group failed: %s", exc)
                self._connection = None
        if not group.durable.done():
            group.durable.set_result(error)
