"""Hot-path statements (app.db.statements) store and read what SQLAlchemy would, and
SQLite read sessions hand their connection back at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from app.db.database import Database
from app.db.migrate import migrate
from app.db.statements import Statement
from app.db.tables import ClusterMetadata, HistoryEventRow, table_of
from tests.conftest import BACKEND

EVENTS = table_of(HistoryEventRow)
INSERT = Statement(insert(EVENTS))
READ = Statement(
    select(EVENTS.c.event_id, EVENTS.c.event_time, EVENTS.c.attributes)
    .where(EVENTS.c.workflow_id == bindparam("workflow_id"))
    .order_by(EVENTS.c.event_id)
)
KEY = {"namespace_id": "ns", "workflow_id": "wf", "run_id": "run"}
WHEN = datetime(2026, 11, 30, 4, 5, 6, 789000, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate(database)
    try:
        yield database
    finally:
        await database.close()


def _event(event_id: int) -> dict[str, object]:
    attributes = {"n": event_id, "nested": {"list": [1, "two"]}}
    return {
        **KEY,
        "event_id": event_id,
        "event_type": "X",
        "event_time": WHEN,
        "attributes": attributes,
    }


async def test_values_round_trip_as_sqlalchemy_stores_them(db: Database) -> None:
    async with db.write() as uow:
        await INSERT.run(uow.session, _event(1))
        await INSERT.run_many(uow.session, [_event(2), _event(3)])
    async with db.read() as session:
        rows = await READ.all(session, {"workflow_id": "wf"})
        orm = (
            (await session.execute(select(HistoryEventRow).order_by(HistoryEventRow.event_id)))
            .scalars()
            .all()
        )
    assert rows == [(n, WHEN, _event(n)["attributes"]) for n in (1, 2, 3)]
    assert [(e.event_id, e.event_time, e.attributes) for e in orm] == rows


async def test_a_duplicate_key_is_sqlalchemys_integrity_error(db: Database) -> None:
    async with db.write() as uow:
        await INSERT.run(uow.session, _event(1))
    with pytest.raises(IntegrityError):
        async with db.write() as uow:
            await INSERT.run(uow.session, _event(1))
    async with db.read() as session:
        assert len(await READ.all(session, {"workflow_id": "wf"})) == 1


async def test_a_rolled_back_write_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as uow:
            await INSERT.run(uow.session, _event(1))
            raise RuntimeError("abandoned")
    async with db.read() as session:
        assert await READ.all(session, {"workflow_id": "wf"}) == []


async def _stored(db: Database) -> tuple[int, ClusterMetadata | None]:
    async with db.read() as session:
        events = len(await READ.all(session, {"workflow_id": "wf"}))
        return events, await session.get(ClusterMetadata, "k")


async def test_statements_and_orm_changes_commit_together(db: Database) -> None:
    async with db.write() as uow:
        await INSERT.run(uow.session, _event(1))
        uow.session.add(ClusterMetadata(key="k", value="v"))
    events, row = await _stored(db)
    assert events == 1 and row is not None and row.value == "v"


async def test_a_failed_write_rolls_back_statements_and_orm_changes(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as uow:
            await INSERT.run(uow.session, _event(1))
            uow.session.add(ClusterMetadata(key="k", value="v"))
            await uow.session.flush()
            raise RuntimeError("abandoned")
    assert await _stored(db) == (0, None)
    async with db.write() as uow:  # the writer is usable again
        await INSERT.run(uow.session, _event(2))
    assert (await _stored(db))[0] == 1


@pytest.mark.skipif(BACKEND != "sqlite", reason="the inline SQLite reader pool")
async def test_concurrent_reads_share_one_connection(db: Database) -> None:
    async def reader() -> None:
        for _ in range(10):
            async with db.read() as session:
                await READ.all(session, {"workflow_id": "wf"})
            await asyncio.sleep(0)

    await asyncio.gather(*(reader() for _ in range(16)))
    # A read never waits inside, so its connection is back before the next read begins:
    # one connection served them all.
    pool = db.reader.pool
    assert pool.checkedin() + pool.checkedout() == 1  # type: ignore[attr-defined]
