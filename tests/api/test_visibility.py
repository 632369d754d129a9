"""List, Scan and Count over HTTP, and custom search attribute registration."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, Worker, complete_workflow
from tests.conftest import assert_error, start_body


async def _register(client: httpx.AsyncClient, **types: str) -> None:
    response = await client.post(f"{NS}/search-attributes", json={"search_attributes": types})
    assert response.status_code == 200, response.text


def _sa(**values: Any) -> dict[str, Any]:
    return {"indexed_fields": {k: {"data": v} for k, v in values.items()}}


async def _ids(client: httpx.AsyncClient, query: str) -> list[str]:
    response = await client.get(f"{NS}/workflows", params={"query": query})
    assert response.status_code == 200, response.text
    return [e["execution"]["workflow_id"] for e in response.json()["executions"]]


async def test_register_list_and_remove_search_attributes(client: httpx.AsyncClient) -> None:
    await _register(
        client, CustomerId="Keyword", Amount="Double", Priority="INDEXED_VALUE_TYPE_INT"
    )
    listed = (await client.get(f"{NS}/search-attributes")).json()
    assert listed["custom_attributes"] == {
        "CustomerId": "Keyword",
        "Amount": "Double",
        "Priority": "Int",
    }
    assert listed["system_attributes"]["StartTime"] == "Datetime"
    clash = await client.post(
        f"{NS}/search-attributes", json={"search_attributes": {"CustomerId": "Int"}}
    )
    assert_error(clash, 409, "ALREADY_EXISTS")
    bad = await client.post(
        f"{NS}/search-attributes", json={"search_attributes": {"X": "Float128"}}
    )
    assert_error(bad, 400, "INVALID_ARGUMENT")
    system = await client.post(
        f"{NS}/search-attributes", json={"search_attributes": {"WorkflowId": "Keyword"}}
    )
    assert_error(system, 400, "INVALID_ARGUMENT")
    assert (await client.delete(f"{NS}/search-attributes/Amount")).status_code == 200
    assert_error(await client.delete(f"{NS}/search-attributes/Amount"), 404, "NOT_FOUND")


async def test_values_are_type_checked_at_start(client: httpx.AsyncClient) -> None:
    await _register(client, Priority="Int")
    response = await client.post(
        f"{NS}/workflows", json=start_body("typed", search_attributes=_sa(Priority="abc"))
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "Priority" in error["message"]


async def test_list_count_and_group_by(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    await _register(client, CustomerId="Keyword", Priority="Int")
    worker = Worker(client, clock, app)
    for n in range(6):
        await worker.start(
            f"order-{n}",
            workflow_type={"name": "Order" if n % 2 else "Refund"},
            search_attributes=_sa(CustomerId=f"c{n % 3}", Priority=n),
        )
        clock.advance(1)
    task = await worker.workflow_task()
    await worker.complete_workflow_task(task["task_token"], complete_workflow())
    assert await _ids(client, "WorkflowType = 'Order' ORDER BY StartTime ASC") == [
        "order-1",
        "order-3",
        "order-5",
    ]
    assert await _ids(client, "CustomerId = 'c1' AND Priority > 3") == ["order-4"]
    assert sorted(await _ids(client, "NOT CustomerId = 'c1'")) == [
        "order-0",
        "order-2",
        "order-3",
        "order-5",
    ]
    assert await _ids(client, "CustomerId IS NULL") == []
    assert len(await _ids(client, "CustomerId IS NOT NULL")) == 6
    assert await _ids(client, "ExecutionStatus = 'Completed'") == ["order-0"]
    assert len(await _ids(client, "")) == 6
    counted = (
        await client.get(f"{NS}/workflows/count", params={"query": "WorkflowType = 'Order'"})
    ).json()
    assert counted == {"count": 3}
    grouped = (
        await client.get(f"{NS}/workflows/count", params={"query": "GROUP BY ExecutionStatus"})
    ).json()
    assert grouped["count"] == 6
    assert {g["group_values"][0]: g["count"] for g in grouped["groups"]} == {
        "Completed": 1,
        "Running": 5,
    }
    scanned = (await client.post(f"{NS}/workflows/scan", json={"query": "Priority >= 4"})).json()
    assert sorted(e["execution"]["workflow_id"] for e in scanned["executions"]) == [
        "order-4",
        "order-5",
    ]


async def test_query_errors_name_the_problem(client: httpx.AsyncClient) -> None:
    for query, needle in [
        ("Nope = 'x'", "Nope"),
        ("HistoryLength = 'abc'", "HistoryLength"),
        ("WorkflowId = ", "position"),
        ("StartTime > 'yesterday'", "StartTime"),
    ]:
        response = await client.get(f"{NS}/workflows", params={"query": query})
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert needle in error["message"], (query, error)
    injection = await client.get(
        f"{NS}/workflows", params={"query": "WorkflowId = 'x''; DROP TABLE executions; --'"}
    )
    assert injection.status_code == 200
    assert (await client.get(f"{NS}/workflows")).status_code == 200


async def test_paging_is_stable_while_workflows_start(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for n in range(150):
        response = await client.post(f"{NS}/workflows", json=start_body(f"page-{n:03}"))
        assert response.status_code == 200
        clock.advance(0.01)
    seen: list[str] = []
    token = ""
    extra = 0
    while True:
        response = await client.get(
            f"{NS}/workflows", params={"page_size": 37, "next_page_token": token}
        )
        body = response.json()
        seen += [e["execution"]["workflow_id"] for e in body["executions"]]
        clock.advance(0.01)
        await client.post(f"{NS}/workflows", json=start_body(f"late-{extra}"))
        extra += 1
        token = body["next_page_token"]
        if not token:
            break
    assert sorted(seen) == sorted(f"page-{n:03}" for n in range(150))
    tampered = token or "abc"
    assert_error(
        await client.get(f"{NS}/workflows", params={"next_page_token": tampered + "x"}),
        400,
        "INVALID_ARGUMENT",
    )


@pytest.mark.slow
async def test_paging_a_thousand_workflows_37_at_a_time(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """The issue's check: 1,000 runs listed 37 at a time while others start; each
    pre-existing run appears exactly once."""
    for n in range(1000):
        response = await client.post(f"{NS}/workflows", json=start_body(f"k-{n:04}"))
        assert response.status_code == 200
        clock.advance(0.001)
    seen: list[str] = []
    token = ""
    late = 0
    while True:
        body = (
            await client.get(f"{NS}/workflows", params={"page_size": 37, "next_page_token": token})
        ).json()
        seen += [e["execution"]["workflow_id"] for e in body["executions"]]
        clock.advance(0.001)
        await client.post(f"{NS}/workflows", json=start_body(f"late-{late}"))
        late += 1
        token = body["next_page_token"]
        if not token:
            break
    assert len(seen) == 1000
    assert sorted(seen) == [f"k-{n:04}" for n in range(1000)]


async def test_predefined_and_reserved_attributes(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    reserved = await client.post(
        f"{NS}/search-attributes", json={"search_attributes": {"TemporalThing": "Keyword"}}
    )
    assert_error(reserved, 400, "INVALID_ARGUMENT")
    worker = Worker(client, clock, app)
    await worker.start("versioned", search_attributes=_sa(TemporalChangeVersion=["fix-1"]))
    assert await _ids(client, "TemporalChangeVersion = 'fix-1'") == ["versioned"]
    assert await _ids(client, "StateTransitionCount >= 1") == ["versioned"]
    assert await _ids(client, "HistorySizeBytes > 100") == ["versioned"]
    info = (await client.get(f"{NS}/workflows/versioned")).json()["execution_info"]
    assert info["history_size_bytes"] > 100 and info["state_transition_count"] >= 1


async def test_every_type_is_indexed_at_start_and_reindexed_on_upsert(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    await _register(
        client,
        Kw="Keyword",
        Txt="Text",
        Num="Int",
        Ratio="Double",
        Flag="Bool",
        When="Datetime",
        Tags="KeywordList",
    )
    worker = Worker(client, clock, app)
    first = _sa(
        Kw="a",
        Txt="quick fox",
        Num=7,
        Ratio=0.5,
        Flag=True,
        When="2025-01-02T03:04:05+00:00",
        Tags=["red", "green"],
    )
    await worker.start("typed", search_attributes=first)
    await worker.start("other", search_attributes=_sa(Kw="b", Num=1, Tags=["blue"]))
    for query in (
        "Kw = 'a'",
        "Txt = 'quick fox'",
        "Txt CONTAINS 'quick'",
        "Num = 7",
        "Ratio < 1",
        "Flag = true",
        "When > '2025-01-01T00:00:00Z'",
        "Tags = 'green'",
        "Tags = 'red' AND Num >= 7",
    ):
        assert await _ids(client, query) == ["typed"], query
    task = await worker.workflow_task()
    assert task["workflow_execution"]["workflow_id"] == "typed"
    upsert = {
        "command_type": "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "upsert_workflow_search_attributes_command_attributes": {
            "search_attributes": _sa(Num=8, Tags=["blue"])
        },
    }
    answer = await worker.complete_workflow_task(task["task_token"], upsert)
    assert answer.status_code == 200, answer.text
    assert await _ids(client, "Num = 7") == []
    assert await _ids(client, "Num = 8") == ["typed"]
    assert await _ids(client, "Tags = 'red'") == []
    assert sorted(await _ids(client, "Tags = 'blue'")) == ["other", "typed"]
    assert await _ids(client, "Kw = 'a' AND Flag = true") == ["typed"]
