"""The probes: /healthz (200 while the database answers, 503 once it does not), /livez
(the process serves) and /readyz (each readiness check, and the one that failed)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.context import AppContext
from app.services.membership import ShardBalancer
from app.services.readiness import schema_head
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


async def test_livez_touches_no_database(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ctx: AppContext = app.state.ctx
    await ctx.db.close()
    ctx.db.reader = create_async_engine(_unreachable(ctx, tmp_path))
    response = await client.get("/livez")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}
    ctx.drain()  # a stopping process is still alive: no restart while it drains
    assert (await client.get("/livez")).status_code == 200


async def test_readyz_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    cluster = "ok: one process (SQLite)" if BACKEND == "sqlite" else "ok"
    assert response.json() == {
        "status": "ready",
        "failed": [],
        "checks": {"shutdown": "ok", "database": "ok", "migrations": "ok", "cluster": cluster},
    }


async def test_readyz_unavailable_while_draining(app: FastAPI, client: httpx.AsyncClient) -> None:
    app.state.ctx.drain()
    response = await client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json() == {
        "status": "unavailable",
        "failed": ["shutdown"],
        "checks": {
            "shutdown": "draining: the server is stopping",
            "database": "not checked",
            "migrations": "not checked",
            "cluster": "not checked",
        },
    }


async def test_readyz_unavailable_when_database_unreachable(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ctx: AppContext = app.state.ctx
    await ctx.db.close()
    ctx.db.reader = create_async_engine(_unreachable(ctx, tmp_path))
    response = await client.get("/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["database"].startswith("the database failed (")
    assert body["checks"]["migrations"] == "not checked"


async def test_readyz_unavailable_when_the_schema_is_not_at_head(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ctx: AppContext = app.state.ctx
    async with ctx.db.write() as uow:  # as a newer gateway's migration would leave it
        await uow.session.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
    response = await client.get("/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["failed"] == ["migrations"]
    head = ", ".join(sorted(schema_head()))
    assert body["checks"]["migrations"] == (
        f"the schema is at 9999_newer; this gateway expects {head}"
    )


@pytest.mark.skipif(BACKEND == "sqlite", reason="clustering needs PostgreSQL")
async def test_readyz_waits_for_a_share_of_shard_leases(
    app: FastAPI,
    client: httpx.AsyncClient,
    second_gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    second, second_client = second_gateway
    # The first member still holds every shard: the second has joined but holds none.
    response = await second_client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["failed"] == ["cluster"]
    assert "holds no shard lease yet" in response.json()["checks"]["cluster"]
    for gateway in (app, second):  # the first hands over its extras, the second takes them
        ctx: AppContext = gateway.state.ctx
        async with ctx.db.write() as uow:
            await ShardBalancer(ctx).balance(uow.session)
    assert (await second_client.get("/readyz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.skipif(BACKEND == "sqlite", reason="clustering needs PostgreSQL")
async def test_readyz_unavailable_once_leases_are_lost_or_the_member_reaped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ctx: AppContext = app.state.ctx
    async with ctx.db.write() as uow:  # another member took shard 0 over
        await uow.session.execute(text("UPDATE shards SET owner = 'other' WHERE shard_id = 0"))
    response = await client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["checks"]["cluster"] == (
        "its leases on shards [0] lapsed or were taken over"
    )
    async with ctx.db.write() as uow:  # reaped while it stalled
        await uow.session.execute(text("DELETE FROM cluster_members"))
    response = await client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["checks"]["cluster"].startswith("not a live cluster member")


def _unreachable(ctx: AppContext, tmp_path: Path) -> str:
    """A database URL whose connections fail at once."""
    if ctx.db.is_sqlite:
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'gateway.db'}"
    return "postgresql+asyncpg://postgres@127.0.0.1:1/none"  # nothing listens on port 1
