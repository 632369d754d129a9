"""An aiosqlite connection that runs each call on the event loop's own thread.

aiosqlite hands every statement to a thread of its own and back: two thread switches and
a wait for the GIL per statement, which cost more than the statement itself (inline, the
bench's starts at 16 clients went from 123/s to 239/s and describes from 186/s to
416/s). The gateway's writer and point reads run short statements, so they run inline:
the connection's work queue runs what is put on it at once. The price is that the loop
waits out each statement; the writer's commits (their fsync) run on a thread of their own
(app.db.sqlite_writer) and scans of many rows keep aiosqlite's thread
(Database.read(scan=True)). SQLite serves one gateway process, whose writes are
serialized in-process, so a write never waits on another writer's lock here."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its worker thread."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is None:
                raise
            future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for statements run on the event loop's thread
        without aiosqlite's wrapping (app.db.statements)."""
        return self._conn

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


async def connect(path: str, busy_seconds: float) -> aiosqlite.Connection:
    """Open ``path`` as aiosqlite.connect would, without its thread."""
    return await InlineConnection(
        partial(sqlite3.connect, path, timeout=busy_seconds, check_same_thread=False)
    )
