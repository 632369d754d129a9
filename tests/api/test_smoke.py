from __future__ import annotations

import httpx

from tests.conftest import start_body


async def test_start_then_describe(client: httpx.AsyncClient) -> None:
    started = await client.post("/api/v1/namespaces/default/workflows", json=start_body())
    assert started.status_code == 200, started.text
    run_id = started.json()["run_id"]
    described = await client.get(f"/api/v1/namespaces/default/workflows/wf-1/runs/{run_id}")
    assert described.status_code == 200, described.text
    events = described.json()["workflow_execution_history"]
    assert [e["event_type"] for e in events] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
