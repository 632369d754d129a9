"""A unit of work inside a transaction it shares: a session of its own in a savepoint, so
that when it fails only its own changes are taken back, and the ORM forgets them too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import statements


@asynccontextmanager
async def session_in_savepoint(
    connection: AsyncConnection, name: str, *, straight: bool
) -> AsyncIterator[AsyncSession]:
    """A session on ``connection``, inside its transaction, whose work is kept when the
    block ends and taken back alone when it raises. ``straight``: the session's statements
    run on the sqlite3 connection straight (app.db.statements), which then gets a savepoint
    of its own named ``name``. When SQLite has ended the whole transaction under it (an I/O
    error, say) there is no savepoint left to go back to: the error is raised as it is."""
    session = AsyncSession(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",  # ORM work nests in the transaction
    )
    raw = statements.use_connection(session, connection) if straight else None
    if raw is not None:
        statements.run_raw(raw, f"SAVEPOINT {name}")
    try:
        yield session
        if session.in_transaction():  # flushes what the ORM holds
            await session.commit()
        if raw is not None:
            statements.run_raw(raw, f"RELEASE {name}")
    except BaseException:
        if session.in_transaction():
            await session.rollback()
        if raw is not None and raw.in_transaction:
            statements.run_raw(raw, f"ROLLBACK TO {name}")
            statements.run_raw(raw, f"RELEASE {name}")
        raise
