"""The Alembic migrations build exactly the schema the models declare, on the configured
backend, and applying them again changes nothing."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from app.db.database import Database
from app.db.migrate import MIGRATIONS, migrate
from app.db.tables import ClusterMetadata, SQLModel
from tests.conftest import BACKEND, _admin, _pg_url

_fresh = itertools.count()


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (the suite's `database_url` is a copy of a migrated template)."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    name = f"tg_fresh_{os.getpid()}_{next(_fresh)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield _pg_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    database = Database(fresh_database_url)
    try:
        yield database
    finally:
        await database.close()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _table_names(db: Database) -> set[str]:
    async with db.writer_transaction() as connection:
        return await connection.run_sync(_tables)


async def test_fresh_database_starts_empty(db: Database) -> None:
    assert await _table_names(db) == set()


async def test_migrations_match_the_models(db: Database) -> None:
    await migrate(db)

    async with db.writer_transaction() as connection:
        differences = await connection.run_sync(_differences)
        revision = await connection.run_sync(_revision)

    assert differences == [], "the migrations and app.db.tables disagree; add a migration"
    assert revision == _head()
    assert await _table_names(db) == {*SQLModel.metadata.tables, "alembic_version"}


async def test_migrating_twice_is_harmless(db: Database) -> None:
    await migrate(db)
    async with db.write() as uow:
        uow.session.add(ClusterMetadata(key="kept", value="across migrations"))

    await migrate(db)

    async with db.read() as session:
        kept = await session.get(ClusterMetadata, "kept")
    assert kept is not None and kept.value == "across migrations"
    async with db.writer_transaction() as connection:
        assert await connection.run_sync(_differences) == []
        assert await connection.run_sync(_revision) == _head()
        versions = (
            await connection.execute(text("SELECT count(*) FROM alembic_version"))
        ).scalar_one()
    assert versions == 1
