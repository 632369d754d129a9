"""Concurrent requests through the ASGI client: starts with distinct ids, racing starts
of one id (with distinct or identical request ids), and concurrent signals."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import assert_error, start_body

WORKFLOWS = "/api/v1/namespaces/default/workflows"


async def history(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> list[Any]:
    response = await client.get(f"{WORKFLOWS}/{workflow_id}/runs/{run_id}/history")
    assert response.status_code == 200, response.text
    events: list[Any] = response.json()["history"]
    return events


async def test_concurrent_starts_with_distinct_ids(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(client.post(WORKFLOWS, json=start_body(f"wf-{n}")) for n in range(64))
    )

    assert [r.status_code for r in responses] == [200] * 64, [r.text for r in responses]
    assert all(r.json()["started"] is True for r in responses)
    run_ids = [r.json()["run_id"] for r in responses]
    assert len(set(run_ids)) == 64
    for n in (0, 31, 63):
        events = await history(client, f"wf-{n}", run_ids[n])
        assert [e["event_id"] for e in events] == [1, 2]


async def test_concurrent_starts_of_one_id_start_exactly_one_run(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(WORKFLOWS, json=start_body("wf-race", request_id=f"req-{n}"))
            for n in range(64)
        )
    )

    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in winners]
    assert winners[0].json()["started"] is True
    run_id = winners[0].json()["run_id"]
    losers = [r for r in responses if r.status_code != 200]
    assert len(losers) == 63
    for response in losers:
        error = assert_error(response, 409, "WORKFLOW_EXECUTION_ALREADY_STARTED")
        assert error["details"][0]["run_id"] == run_id

    current = await client.get(f"{WORKFLOWS}/wf-race")
    assert current.status_code == 200, current.text
    assert current.json()["execution_info"]["execution"]["run_id"] == run_id
    assert [e["event_id"] for e in await history(client, "wf-race", run_id)] == [1, 2]


async def test_concurrent_starts_with_one_request_id_share_one_run(
    client: httpx.AsyncClient,
) -> None:
    body = start_body("wf-same", request_id="the-request")
    responses = await asyncio.gather(*(client.post(WORKFLOWS, json=body) for _ in range(64)))

    assert [r.status_code for r in responses] == [200] * 64, [r.text for r in responses]
    assert {r.json()["run_id"] for r in responses} == {responses[0].json()["run_id"]}
    assert all(r.json()["started"] is True for r in responses)
    run_id = responses[0].json()["run_id"]
    current = await client.get(f"{WORKFLOWS}/wf-same")
    assert current.json()["execution_info"]["execution"]["run_id"] == run_id
    assert [e["event_id"] for e in await history(client, "wf-same", run_id)] == [1, 2]


async def test_concurrent_signals_are_all_recorded(client: httpx.AsyncClient) -> None:
    started = await client.post(WORKFLOWS, json=start_body("wf-signals"))
    assert started.status_code == 200, started.text
    run_id = started.json()["run_id"]
    path = f"{WORKFLOWS}/wf-signals/runs/{run_id}/signal"

    responses = await asyncio.gather(
        *(
            client.post(path, json={"signal_name": "tick", "input": n, "request_id": f"s-{n}"})
            for n in range(32)
        )
    )

    assert [r.status_code for r in responses] == [200] * 32, [r.text for r in responses]
    events = await history(client, "wf-signals", run_id)
    assert [e["event_id"] for e in events] == list(range(1, 35))
    signaled = [e for e in events if e["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"]
    assert len(signaled) == 32
    assert [e["event_type"] for e in events[:2]] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    inputs = sorted(e["workflow_execution_signaled_event_attributes"]["input"] for e in signaled)
    assert inputs == list(range(32))
    described = await client.get(f"{WORKFLOWS}/wf-signals/runs/{run_id}")
    assert described.json()["execution_info"]["history_length"] == 34
