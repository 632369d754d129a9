"""Namespaces by name for requests that only read them: every call names its namespace,
and reading the row each time cost a transaction per read request. A row is kept for
REFRESH (as Temporal's namespace registry refreshes), dropped at once when this process
changes a namespace, and never kept when missing, so a namespace another process creates
is seen at once and one it changes within REFRESH. Writes that depend on a namespace
(starts, signals, completions) read it in their own transaction instead."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.clock import Clock
from app.db.database import Database
from app.db.tables import NamespaceRow
from app.services import namespaces

REFRESH = timedelta(seconds=5)


class NamespaceCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._rows: dict[str, tuple[datetime, NamespaceRow]] = {}
        # Bumped by every change: a read that began before a change must not store
        # what it read.
        self._generation = 0

    async def get(self, db: Database, name: str) -> NamespaceRow:
        """The namespace (NAMESPACE_NOT_FOUND if missing or deleted). The row is shared:
        callers must not change it."""
        now = self._clock.now()
        kept = self._rows.get(name)
        if kept is not None and kept[0] <= now < kept[0] + REFRESH:
            return kept[1]
        generation = self._generation
        async with db.read() as session:
            row = await namespaces.get_by_name(session, name)
        if generation == self._generation:
            self._rows[name] = (now, row)
        return row

    def changed(self) -> None:
        """A namespace was changed by this process (call after the commit)."""
        self._generation += 1
        self._rows.clear()
