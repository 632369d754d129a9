"""Namespaces by name for requests that only read them: every call names its namespace,
and reading the row each time cost a transaction per read request. A row is kept for
REFRESH (as Temporal's namespace registry refreshes), dropped at once when this process
changes a namespace, and never kept when missing, so a namespace another process creates
is seen at once and one it changes within REFRESH. Writes that depend on a namespace
(starts, signals, completions) see it as their own transaction does (``current``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.db.database import Database
from app.db.statements import Statement
from app.db.tables import NamespaceRow, table_of
from app.services import namespaces

REFRESH = timedelta(seconds=5)
_COLUMNS = tuple(table_of(NamespaceRow).c)
_BY_NAME = Statement(select(*_COLUMNS).where(table_of(NamespaceRow).c.name == bindparam("name")))


def _equal(row: NamespaceRow, stored: tuple[Any, ...]) -> bool:
    pairs = zip(_COLUMNS, stored, strict=True)
    return all(getattr(row, column.key) == value for column, value in pairs)


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

    async def current(self, session: AsyncSession, name: str) -> NamespaceRow:
        """The namespace as the caller's transaction sees it, for writes that decide on
        it (NAMESPACE_NOT_FOUND if missing or deleted): the kept row while the stored one
        still equals it, which a point read of its columns confirms (loading it through
        the ORM cost more than the rest of a start), else the stored one. Shared: callers
        must not change it."""
        stored = await _BY_NAME.first(session, {"name": name})
        kept = self._rows.get(name)
        if stored is not None and kept is not None and _equal(kept[1], stored):
            return kept[1]
        generation = self._generation
        row = await namespaces.get_by_name(session, name)
        session.expunge(row)  # a rollback of the caller's transaction must not expire it
        if generation == self._generation:
            self._rows[name] = (self._clock.now(), row)
        return row

    def changed(self) -> None:
        """A namespace was changed by this process (call after the commit)."""
        self._generation += 1
        self._rows.clear()
