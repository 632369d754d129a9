"""Checkpoints of SQLite's write-ahead log, run beside the writer instead of inside it.

SQLite checkpoints the log in the commit that takes it past ``wal_autocheckpoint`` pages
(1,000 by default): the pages go back into the database file and that file is fsynced,
there and then. A start writes ~20 pages, so every ~50th write paid ~1 ms more on the
event loop's thread (or held up the group commits queued behind it): the tail of
dispatch latency. Here a thread of its own, on a connection of its own, runs a PASSIVE
checkpoint (it never blocks the writer nor readers) every ``CHECKPOINT_EVERY`` commits.
Once it has copied every frame, the writer's next transaction starts the log again from
its beginning, so the file stays small. The writer's own automatic checkpoint stays, at
``WAL_BACKSTOP_PAGES``, for a log this thread could not keep up with; it then copies only
the frames not yet copied.

A checkpoint changes no data, only where it lives: a crash during one is recovered from
the log, which SQLite fsyncs before it starts the log again (``synchronous`` as the
writer's)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 16
WAL_BACKSTOP_PAGES = 4000


class WalCheckpointer:
    def __init__(self, path: str, synchronous: str, every: int = CHECKPOINT_EVERY) -> None:
        self._path = path
        self._synchronous = synchronous
        self._every = every
        self._commits = 0
        self._running: asyncio.Future[tuple[int, int, int]] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None
        # What the checkpoints did, for tests and diagnosis.
        self.completed = 0
        self.frames_copied = 0
        self.failures = 0

    def committed(self) -> None:
        """The writer committed a transaction: checkpoint when enough have."""
        self._commits += 1
        if self._commits < self._every or self._running is not None:
            return
        self._commits = 0
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        running = asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)
        running.add_done_callback(self._done)
        self._running = running

    async def idle(self) -> None:
        """Returns once no checkpoint is running."""
        if self._running is not None:
            await asyncio.wait([self._running])

    async def close(self) -> None:
        await self.idle()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._disconnect)
            self._thread.shutdown(wait=True)
            self._thread = None

    def _checkpoint(self) -> tuple[int, int, int]:
        """(1 if it could not copy every frame, frames in the log, frames copied)."""
        if self._connection is None:
            self._connection = sqlite3.connect(self._path, isolation_level=None)
            self._connection.execute(f"PRAGMA synchronous={self._synchronous}")
        busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _done(self, running: asyncio.Future[tuple[int, int, int]]) -> None:
        self._running = None
        if running.cancelled():
            return
        error = running.exception()
        if error is not None:
            # The writer's own automatic checkpoint still bounds the log.
            self.failures += 1
            log.warning("a checkpoint of the write-ahead log failed: %s", error)
            return
        self.completed += 1
        self.frames_copied += max(0, running.result()[2])
