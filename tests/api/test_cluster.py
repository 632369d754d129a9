"""DescribeCluster and ListClusterMembers report the real membership rows: this process
joins at start, heartbeats on the injected clock, is dropped from the list once silent,
reaped by a live member, and leaves when it stops. The shard count is fixed for good."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.db.tables import ClusterMemberRow
from app.main import create_app
from app.services.membership import MembershipHeartbeat
from app.settings import Settings
from tests.conftest import BACKEND

CLUSTER = "/api/v1/cluster"


def heartbeat(app: FastAPI) -> MembershipHeartbeat:
    [loop] = [x for x in app.state.ctx.loops if isinstance(x, MembershipHeartbeat)]
    return loop


async def members(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(f"{CLUSTER}/members")
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["active_members"]
    return listed


async def test_describe_cluster_reports_this_cluster_and_its_one_process(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get(CLUSTER)
    assert response.status_code == 200, response.text
    body = response.json()
    info = body["cluster_info"]
    assert info["cluster_name"] == "active"
    assert info["persistence_store"] == ("sqlite" if BACKEND == "sqlite" else "postgresql")
    assert info["history_shard_count"] == settings.shard_count
    assert info["server_version"]
    [member] = body["membership_info"]
    assert member["host_id"] == app.state.ctx.me.identity
    assert (member["rpc_address"], member["rpc_port"]) == ("127.0.0.1", 7243)
    assert member["role"] == "frontend,history,matching"


async def test_the_cluster_id_is_kept_across_restarts(database_url: str) -> None:
    seen = []
    for _ in range(2):
        app = create_app(Settings(database_url=database_url, run_background_loops=False))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                seen.append((await client.get(CLUSTER)).json()["cluster_info"]["cluster_id"])
    assert seen[0] == seen[1]


async def test_a_silent_member_leaves_the_list_and_is_reaped(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    ctx = app.state.ctx
    async with ctx.db.write() as uow:
        uow.session.add(
            ClusterMemberRow(
                identity="gone-host:1:abcd",
                role="frontend,history,matching",
                rpc_address="10.0.0.9",
                rpc_port=7243,
                version="0.1.0",
                session_start_time=clock.now() - timedelta(minutes=5),
                last_heartbeat_time=clock.now(),
            )
        )
    assert [m["host_id"] for m in await members(client)] == ["gone-host:1:abcd", ctx.me.identity]
    clock.advance(ctx.settings.member_heartbeat_seconds)
    await heartbeat(app).run_once()
    clock.advance(ctx.settings.member_timeout_seconds - ctx.settings.member_heartbeat_seconds + 1)
    assert [m["host_id"] for m in await members(client)] == [ctx.me.identity]
    await heartbeat(app).run_once()
    async with ctx.db.read() as session:
        assert await session.get(ClusterMemberRow, "gone-host:1:abcd") is None


async def test_a_member_reaped_while_stalled_joins_again(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    clock.advance(app.state.ctx.settings.member_timeout_seconds + 1)
    assert await members(client) == []
    await heartbeat(app).run_once()
    [member] = await members(client)
    assert member["last_heartbeat_time"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M:%S"))


async def test_a_stopped_process_leaves_at_once(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, run_background_loops=False))
    async with app.router.lifespan_context(app):
        me = app.state.ctx.me.identity
    later = create_app(Settings(database_url=database_url, run_background_loops=False))
    async with later.router.lifespan_context(later):
        transport = httpx.ASGITransport(app=later)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            assert me not in [m["host_id"] for m in await members(client)]


async def test_the_shard_count_cannot_change_on_an_existing_database(database_url: str) -> None:
    first = create_app(Settings(database_url=database_url, shard_count=8))
    async with first.router.lifespan_context(first):
        pass
    second = create_app(Settings(database_url=database_url, shard_count=16))
    with pytest.raises(RuntimeError, match="created with shard_count=8"):
        async with second.router.lifespan_context(second):
            pass
