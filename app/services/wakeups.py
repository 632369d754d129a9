"""Wake-ups across gateway processes on one PostgreSQL: a commit that writes a task,
an event or a timer sends NOTIFY with the wake-up key (see Database), and every process
LISTENs and wakes its own waiters, so a long poll on process A returns as soon as
process B commits a task for it, with no polling interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.db.database import WAKEUP_CHANNEL
from app.services.notifier import Notifier, parse_broadcast

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 10.0


class CrossProcessWakeups:
    def __init__(self, database_url: str, notifier: Notifier) -> None:
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._notifier = notifier
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Listen in the background; return once listening (or after a bounded wait,
        the listener then keeps trying)."""
        self._task = asyncio.create_task(self._listen(), name="cross-process-wakeups")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            key, count = parse_broadcast(payload)
        except (ValueError, KeyError, TypeError):
            return
        self._notifier.heard(key, count)

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
                log.warning("lost the wake-up listener's connection; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot listen for wake-ups from other processes: %s", exc)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _c: lost.set())
            await connection.add_listener(WAKEUP_CHANNEL, self._heard)
            # Whatever was committed while nobody listened: let every waiter look.
            self._notifier.notify_all()
            self._ready.set()
            await lost.wait()
        finally:
            if not connection.is_closed():
                with contextlib.suppress(OSError, asyncpg.InterfaceError):
                    await connection.close()
