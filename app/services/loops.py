"""Background loops: ``run_once`` does one batch in short transactions; ``run`` repeats
it until stopped, sleeping on the injected clock until there is more to do. Errors are
logged and the loop goes on. Tests call ``run_once`` directly after moving the clock."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

from app.clock import Clock

log = logging.getLogger(__name__)


class Loop(ABC):
    name = "loop"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> float:
        """Do one batch; return the seconds until there may be more work."""

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the batch so a wake-up (or stop) during it is not lost.
            self.wake.clear()
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("%s failed; retrying shortly", self.name)
                delay = 1.0
            if delay > 0 and not self._stopping.is_set():
                await self.clock.wait(self.wake, delay)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        if self._task is not None:
            await self._task
