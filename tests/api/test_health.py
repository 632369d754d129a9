"""GET /healthz: 200 while the database answers, 503 once it does not."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from app.context import AppContext
from tests.conftest import BACKEND

DIALECT = "sqlite" if BACKEND == "sqlite" else "postgresql"


async def test_healthz_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "database": DIALECT}


async def test_healthz_unavailable_when_database_unreachable(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ctx: AppContext = app.state.ctx
    assert (await client.get("/healthz")).status_code == 200
    if ctx.db.is_sqlite:
        # The database's connections are closed and the reader's engine is replaced by
        # one on a file SQLite cannot open.
        await ctx.db.close()
        missing = tmp_path / "no-such-directory" / "gateway.db"
        ctx.db.reader = create_async_engine(f"sqlite+aiosqlite:///{missing}")
    else:
        # Nothing listens on port 1; the connection is refused at once.
        ctx.db.reader = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")

    response = await client.get("/healthz")
    assert response.status_code == 503, response.text
    assert response.json() == {"status": "unavailable", "database": DIALECT}
