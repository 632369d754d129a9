"""When this process last wrote each poller's record. A busy worker polls many times a
second; writing its last access time at most once a second keeps DescribeTaskQueue's
pollers as exact as a person reading them needs, and takes a write off most polls."""

from __future__ import annotations

from datetime import datetime, timedelta

RECORD_EVERY = timedelta(seconds=1)
# Entries older than this are dropped once the ledger grows past MAX_ENTRIES.
FORGET_AFTER = timedelta(minutes=5)
MAX_ENTRIES = 10_000

PollerKey = tuple[str, str, str, str]  # namespace id, task queue, task type, identity


class PollerLedger:
    def __init__(self) -> None:
        self._written: dict[PollerKey, tuple[datetime, float]] = {}

    def due(self, key: PollerKey, now: datetime, rate_per_second: float) -> bool:
        """Whether the poller's record should be written by a poll at ``now``."""
        last = self._written.get(key)
        if last is None:
            return True
        written_at, rate = last
        return rate != rate_per_second or not (written_at <= now < written_at + RECORD_EVERY)

    def written(self, key: PollerKey, now: datetime, rate_per_second: float) -> None:
        """The record was committed."""
        self._written[key] = (now, rate_per_second)
        if len(self._written) > MAX_ENTRIES:
            stale = [k for k, (at, _) in self._written.items() if at < now - FORGET_AFTER]
            for k in stale:
                del self._written[k]
