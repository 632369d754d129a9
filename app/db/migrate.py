"""Schema migrations (Alembic), applied at start-up on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from app.db.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several gateway processes may start at once; one migrates, the rest wait.
        connection.execute(text("SELECT pg_advisory_xact_lock(7233)"))
    command.upgrade(alembic_config(connection), "head")
    if connection.dialect.name == "sqlite":
        # Planner statistics: without them SQLite picks poor indexes for list queries.
        connection.exec_driver_sql("PRAGMA optimize")


async def migrate(db: Database) -> None:
    async with db.writer_transaction() as connection:
        await connection.run_sync(_upgrade)
