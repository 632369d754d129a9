"""SQLite group commit (app.db.sqlite_writer): writes that queue behind one share its
transaction and are acknowledged together once it is durable; a failing write rolls back
only its own work; a failed commit fails every write it held."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, text

from app.clock import ManualClock
from app.db import statements
from app.db.database import Database, UnitOfWork
from app.db.migrate import migrate
from app.errors import ApiError, ErrorCode
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite writer")


@pytest.fixture
async def db(database_url: str, clock: ManualClock) -> AsyncIterator[Database]:
    database = Database(database_url, clock=clock)
    await migrate(database)
    async with database.writer_transaction() as connection:
        await connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await connection.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    try:
        yield database
    finally:
        await database.close()


async def _insert(uow: UnitOfWork, table: str, row_id: int, parent_id: int = 0) -> None:
    values = "(:id)" if table == "parent" else "(:id, :parent_id)"
    await uow.session.execute(
        text(f"INSERT INTO {table} VALUES {values}"), {"id": row_id, "parent_id": parent_id}
    )


async def _ids(db: Database, table: str) -> list[int]:
    async with db.read() as session:
        return list((await session.execute(text(f"SELECT id FROM {table} ORDER BY id"))).scalars())


async def _commits(db: Database) -> list[str]:
    """The COMMITs the writer's connection runs from now on: the thread of each."""
    async with db.writer_transaction() as connection:
        raw = statements.raw_connection(connection)
    seen: list[str] = []

    def trace(sql: str) -> None:
        if sql.startswith("COMMIT"):
            seen.append(threading.current_thread().name)

    raw.set_trace_callback(trace)
    return seen


class _Group:
    """A first write held open until released, and the writes queued behind it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.first_running = asyncio.Event()
        self.release = asyncio.Event()

    async def first(self, row_id: int) -> None:
        async with self.db.write() as uow:
            await _insert(uow, "parent", row_id)
            self.first_running.set()
            await self.release.wait()

    async def then(self, writes: int) -> None:
        """Let the ``writes`` started after the first queue behind it."""
        await self.first_running.wait()
        await asyncio.sleep(0)
        assert self.db._sqlite_writer._queued == writes  # type: ignore[union-attr]


async def test_writes_queued_behind_one_share_its_commit(db: Database) -> None:
    commits = await _commits(db)
    group = _Group(db)
    first = asyncio.create_task(group.first(1))

    async def write(row_id: int) -> None:
        async with db.write() as uow:
            await _insert(uow, "parent", row_id)

    queued = [asyncio.create_task(write(n)) for n in (2, 3)]
    await group.then(2)
    group.release.set()
    await asyncio.gather(first, *queued)

    assert await _ids(db, "parent") == [1, 2, 3]
    assert len(commits) == 1
    async with db.write() as uow:  # alone, a write commits on its own
        await _insert(uow, "parent", 4)
    assert len(commits) == 2


async def test_a_failing_write_rolls_back_only_its_own_work(db: Database) -> None:
    group = _Group(db)
    first = asyncio.create_task(group.first(1))

    async def failing() -> None:
        async with db.write() as uow:
            await _insert(uow, "parent", 2)
            raise ValueError("refused")

    async def succeeding() -> None:
        async with db.write() as uow:
            await _insert(uow, "parent", 3)

    tasks = [asyncio.create_task(failing()), asyncio.create_task(succeeding())]
    await group.then(2)
    group.release.set()
    outcomes = await asyncio.gather(first, *tasks, return_exceptions=True)

    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert await _ids(db, "parent") == [1, 3]


async def test_a_failing_write_takes_back_what_it_wrote_on_sqlite3_straight(
    db: Database,
) -> None:
    """Statements that bypass the session (app.db.statements) are taken back too."""
    parents = Table("parent", MetaData(), Column("id", Integer, primary_key=True))
    add_parent = statements.Statement(insert(parents))
    group = _Group(db)
    first = asyncio.create_task(group.first(1))

    async def failing() -> None:
        async with db.write() as uow:
            await add_parent.run(uow.session, {"id": 2})
            raise ValueError("refused")

    failing_task = asyncio.create_task(failing())
    await group.then(1)
    group.release.set()
    outcomes = await asyncio.gather(first, failing_task, return_exceptions=True)

    assert outcomes[0] is None and isinstance(outcomes[1], ValueError)
    assert await _ids(db, "parent") == [1]


async def test_a_failed_commit_fails_every_write_it_held(db: Database) -> None:
    group = _Group(db)
    first = asyncio.create_task(group.first(1))

    async def orphan() -> None:
        async with db.write() as uow:  # the deferred key fails only at COMMIT
            await _insert(uow, "child", 1, parent_id=99)

    async def refused() -> None:
        async with db.write() as uow:  # what it read stands only if the group commits
            await _insert(uow, "parent", 2)
            raise ValueError("refused")

    second = asyncio.create_task(orphan())
    third = asyncio.create_task(refused())
    await group.then(2)
    group.release.set()
    outcomes = await asyncio.gather(first, second, third, return_exceptions=True)

    for outcome in outcomes:
        assert isinstance(outcome, ApiError) and outcome.code == ErrorCode.UNAVAILABLE
    assert await _ids(db, "parent") == []
    assert await _ids(db, "child") == []
    async with db.write() as uow:  # the writer goes on with a fresh transaction
        await _insert(uow, "parent", 5)
    assert await _ids(db, "parent") == [5]


async def test_a_write_cancelled_while_its_commit_is_pending_still_commits(
    db: Database,
) -> None:
    group = _Group(db)
    first = asyncio.create_task(group.first(1))

    async def write() -> None:
        async with db.write() as uow:
            await _insert(uow, "parent", 2)

    second = asyncio.create_task(write())
    await group.then(1)
    group.release.set()
    await asyncio.sleep(0)  # the first write ends its work and waits for the commit
    assert not first.done() and db._sqlite_writer._group is not None  # type: ignore[union-attr]
    first.cancel()  # its client went away
    outcomes = await asyncio.gather(first, second, return_exceptions=True)

    assert isinstance(outcomes[0], asyncio.CancelledError) and outcomes[1] is None

    assert await _ids(db, "parent") == [1, 2]


async def test_a_write_that_finds_the_writer_idle_commits_on_the_loops_thread(
    db: Database, clock: ManualClock
) -> None:
    commits = await _commits(db)

    async def write(row_id: int) -> None:
        async with db.write() as uow:
            await _insert(uow, "parent", row_id)

    await write(1)  # nothing committed before
    await write(2)  # right after the last commit: handed to the commit thread
    clock.advance(0.011)
    await write(3)
    loop_thread = threading.current_thread().name
    assert commits[0] == loop_thread and commits[2] == loop_thread
    assert commits[1].startswith("sqlite-commit")
    assert await _ids(db, "parent") == [1, 2, 3]
