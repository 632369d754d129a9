"""Checkpoints of SQLite's write-ahead log beside the writer (app.db.wal_checkpoints): they
run every CHECKPOINT_EVERY commits, keep the log small, and a failing one fails no write."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db.database import Database
from app.db.migrate import migrate
from app.db.sqlite_writer import SqliteWriter
from app.db.wal_checkpoints import CHECKPOINT_EVERY, WAL_BACKSTOP_PAGES, WalCheckpointer
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write-ahead log")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate(database)
    async with database.writer_transaction() as connection:
        await connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
    try:
        yield database
    finally:
        await database.close()


def _writer(db: Database) -> SqliteWriter:
    writer = db._sqlite_writer
    assert writer is not None
    return writer


async def _write_notes(db: Database, count: int) -> None:
    """``count`` writes one after another, each waiting for a checkpoint it started (so
    that none is skipped for running long on a busy machine)."""
    for n in range(count):
        async with db.write() as uow:
            await uow.session.execute(
                text("INSERT INTO note VALUES (:id, :body)"), {"id": n, "body": "x" * 2000}
            )
        await _writer(db).checkpoints.idle()


def _log_bytes(db: Database) -> int:
    return os.path.getsize(f"{make_url(db.url).database}-wal")


async def test_the_log_is_checkpointed_every_so_many_commits(db: Database) -> None:
    checkpoints = _writer(db).checkpoints
    before = checkpoints.completed
    await _write_notes(db, 2 * CHECKPOINT_EVERY)

    assert checkpoints.completed - before == 2
    assert checkpoints.frames_copied > 0
    assert checkpoints.failures == 0
    async with db.writer_transaction() as connection:
        backstop = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
    assert backstop == WAL_BACKSTOP_PAGES


async def test_the_log_starts_again_once_checkpointed(db: Database) -> None:
    """Each note is a page of its own: 400 writes would make a log of 400+ pages (the
    writer's own automatic checkpoint waits for WAL_BACKSTOP_PAGES); checkpointed every
    CHECKPOINT_EVERY commits, the log starts again and stays a few dozen pages long."""
    await _write_notes(db, 400)

    page_size = 4096
    assert _log_bytes(db) < 6 * CHECKPOINT_EVERY * page_size
    async with db.read() as session:
        count = (await session.execute(text("SELECT count(*) FROM note"))).scalar()
    assert count == 400


async def test_a_failing_checkpoint_fails_no_write(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    unopenable = WalCheckpointer("/nonexistent-directory/gateway.db", "FULL", every=1)
    _writer(db).checkpoints = unopenable
    with caplog.at_level(logging.WARNING, logger="app.db.wal_checkpoints"):
        await _write_notes(db, 3)

    assert unopenable.failures == 3 and unopenable.completed == 0
    assert "a checkpoint of the write-ahead log failed" in caplog.text
    async with db.read() as session:
        count = (await session.execute(text("SELECT count(*) FROM note"))).scalar()
    assert count == 3
