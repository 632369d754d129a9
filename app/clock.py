"""The one clock. Everything that reads time or waits for it goes through a Clock so
tests can move time instead of sleeping."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def wait(self, event: asyncio.Event, within: float) -> bool:
        """Wait until ``event`` is set or ``within`` seconds pass; True if it was set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait(self, event: asyncio.Event, within: float) -> bool:
        # asyncio.timeout, not wait_for: no task of its own, so a woken long poll resumes
        # turns of the event loop sooner.
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            return event.is_set()
        return True


class ManualClock:
    """A clock that only moves when told to; waits end when ``advance`` passes their deadline."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._deadlines: list[tuple[datetime, int, asyncio.Event]] = []
        self._seq = itertools.count()
        self._waits_started = 0

    def now(self) -> datetime:
        return self._now

    async def wait(self, event: asyncio.Event, within: float) -> bool:
        expired = asyncio.Event()
        self._waits_started += 1
        heapq.heappush(
            self._deadlines, (self._now + timedelta(seconds=within), next(self._seq), expired)
        )
        waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(expired.wait())}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            expired.set()  # no longer pending, however it ended
            for task in waiters:
                task.cancel()
        return event.is_set()

    @property
    def waits_started(self) -> int:
        """How many waits have begun, ever (to tell a new wait from an old one)."""
        return self._waits_started

    def pending_waits(self) -> int:
        return sum(1 for _, _, expired in self._deadlines if not expired.is_set())

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        while self._deadlines and self._deadlines[0][0] <= self._now:
            _, _, expired = heapq.heappop(self._deadlines)
            expired.set()
