"""Shards: a lone member leases every shard at start; DescribeShard reports the lease and
the shard's real executions and timers; CloseShard releases the lease, the timers wait,
and they fire exactly once after the shard is acquired again with a higher range_id.
With two members on PostgreSQL the shards split, and a silent member's shards move to
the survivor once its leases lapse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.db.database import shard_of
from app.services.membership import MembershipHeartbeat, ShardBalancer
from app.services.timers import TimerProcessor
from app.settings import Settings
from tests.conftest import BACKEND, assert_error, start_body

WORKFLOWS = "/api/v1/namespaces/default/workflows"


def loop(app: FastAPI, kind: type[Any]) -> Any:
    [found] = [x for x in app.state.ctx.loops if isinstance(x, kind)]
    return found


async def shard(client: httpx.AsyncClient, shard_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/shards/{shard_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def shard_of_workflow(app: FastAPI, client: httpx.AsyncClient, workflow_id: str) -> int:
    namespace = (await client.get("/api/v1/namespaces/default")).json()
    ns_id = namespace["namespace_info"]["id"]
    return shard_of(ns_id, workflow_id, app.state.ctx.db.shard_count)


async def test_a_lone_member_owns_every_shard(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    me = app.state.ctx.me.identity
    for shard_id in range(settings.shard_count):
        described = await shard(client, shard_id)
        assert (described["owner"], described["range_id"]) == (me, 1)
        assert described["owner_address"] == "127.0.0.1:7243"
        assert not described["lease_expired"]
    assert_error(await client.get(f"/api/v1/shards/{settings.shard_count}"), 404, "NOT_FOUND")
    assert_error(await client.get("/api/v1/shards/-1"), 404, "NOT_FOUND")
    assert_error(await client.get("/api/v1/shards/first"), 400, "INVALID_ARGUMENT")


async def test_close_shard_holds_its_timers_until_it_is_taken_again(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = start_body("sharded", workflow_start_delay="30s")
    assert (await client.post(WORKFLOWS, json=body)).status_code == 200
    shard_id = await shard_of_workflow(app, client, "sharded")
    before = await shard(client, shard_id)
    assert (before["open_executions"], before["pending_timers"]) == (1, 1)
    assert before["timer_lag"] == "0s"

    closed = await client.post(f"/api/v1/shards/{shard_id}/close")
    assert closed.status_code == 200, closed.text
    assert (await shard(client, shard_id))["owner"] is None
    clock.advance(31)
    await loop(app, TimerProcessor).run_once()
    history = (await client.get(f"{WORKFLOWS}/sharded/history")).json()["history"]
    assert [e["event_type"] for e in history] == ["WORKFLOW_EXECUTION_STARTED"]
    assert (await shard(client, shard_id))["timer_lag"] == "1s"

    await loop(app, MembershipHeartbeat).run_once()
    await loop(app, ShardBalancer).run_once()
    after = await shard(client, shard_id)
    assert (after["owner"], after["range_id"]) == (app.state.ctx.me.identity, 2)
    for _ in range(2):
        await loop(app, TimerProcessor).run_once()
    history = (await client.get(f"{WORKFLOWS}/sharded/history")).json()["history"]
    assert [e["event_type"] for e in history] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert (await shard(client, shard_id))["pending_timers"] == 0


@pytest.mark.skipif(BACKEND != "postgres", reason="several members need PostgreSQL")
async def test_two_members_split_the_shards_and_a_survivor_takes_over(
    app: FastAPI,
    client: httpx.AsyncClient,
    clock: ManualClock,
    settings: Settings,
    second_gateway: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    other, _ = second_gateway
    first_ctx, other_ctx = app.state.ctx, other.state.ctx
    assert other_ctx.ownership.shard_ids == []  # every lease was held when it joined
    await loop(app, ShardBalancer).run_once()
    await loop(other, ShardBalancer).run_once()
    half = settings.shard_count // 2
    assert len(first_ctx.ownership.shard_ids) == half
    assert len(other_ctx.ownership.shard_ids) == half
    assert set(first_ctx.ownership.shard_ids).isdisjoint(other_ctx.ownership.shard_ids)
    members = (await client.get("/api/v1/cluster/members")).json()["active_members"]
    assert len(members) == 2

    taken = other_ctx.ownership.shard_ids[0]
    range_before = (await shard(client, taken))["range_id"]
    # The second member falls silent: past its membership timeout and its leases.
    clock.advance(settings.member_timeout_seconds + settings.shard_lease_seconds)
    await loop(app, MembershipHeartbeat).run_once()
    await loop(app, ShardBalancer).run_once()
    assert first_ctx.ownership.shard_ids == list(range(settings.shard_count))
    described = await shard(client, taken)
    assert described["owner"] == first_ctx.me.identity
    assert described["range_id"] == range_before + 1
    members = (await client.get("/api/v1/cluster/members")).json()["active_members"]
    assert [m["host_id"] for m in members] == [first_ctx.me.identity]
