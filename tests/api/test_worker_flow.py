"""A worker written with nothing but an HTTP client drives workflows to completion."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.services import matching
from app.services.timers import TimerProcessor
from tests.conftest import assert_error, start_body, wait_until

NS = "/api/v1/namespaces/default"
QUEUE = "order-processing-queue"


async def _poll(client: httpx.AsyncClient, wait: str, queue: str = QUEUE) -> dict[str, Any]:
    response = await client.post(
        f"{NS}/task-queues/{queue}/workflow-tasks/poll",
        json={"identity": "worker-1", "wait_timeout": wait},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def poll(client: httpx.AsyncClient, clock: ManualClock) -> dict[str, Any]:
    """Poll once: a task if one is ready, else an empty answer after moving the clock
    through the poll's one-second window."""
    polling = asyncio.create_task(_poll(client, "1s"))
    await wait_until(lambda: polling.done() or clock.pending_waits() > 0)
    if not polling.done():
        clock.advance(1)
    return await polling


async def complete(
    client: httpx.AsyncClient, token: str, commands: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    return await client.post(
        f"{NS}/workflow-tasks/complete",
        json={"task_token": token, "commands": commands, "identity": "worker-1", **extra},
    )


async def history_types(client: httpx.AsyncClient, workflow_id: str) -> list[str]:
    response = await client.get(f"{NS}/workflows/{workflow_id}/history")
    return [e["event_type"] for e in response.json()["history"]]


def timers(app: FastAPI) -> TimerProcessor:
    loop = app.state.ctx.loops[0]
    assert isinstance(loop, TimerProcessor)
    return loop


async def test_poll_complete_with_result(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await client.post(f"{NS}/workflows", json=start_body("simple"))
    task = await poll(client, clock)
    assert task["task_token"]
    assert task["workflow_execution"]["workflow_id"] == "simple"
    assert task["started_event_id"] == 3
    assert task["previous_started_event_id"] == 0
    assert task["attempt"] == 1
    assert [e["event_type"] for e in task["history"]] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    response = await complete(
        client,
        task["task_token"],
        [
            {
                "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                "complete_workflow_execution_command_attributes": {"result": {"ok": True}},
            }
        ],
    )
    assert response.status_code == 200, response.text
    assert await history_types(client, "simple") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    described = (await client.get(f"{NS}/workflows/simple")).json()
    assert described["execution_info"]["status"] == "COMPLETED"
    closing = described["workflow_execution_history"][-1]
    assert closing["workflow_execution_completed_event_attributes"] == {
        "result": {"ok": True},
        "workflow_task_completed_event_id": 4,
    }
    # The same token again is stale.
    again = await complete(client, task["task_token"], [])
    assert_error(again, 404, "NOT_FOUND")


async def test_empty_poll_names_its_window(client: httpx.AsyncClient, clock: ManualClock) -> None:
    waiting = asyncio.create_task(_poll(client, "5s"))
    await wait_until(lambda: clock.pending_waits() == 1)
    clock.advance(5)
    body = await waiting
    assert body["task_token"] == ""
    assert body["poll_window"] == "5s"


async def test_a_zero_wait_poll_answers_at_once(client: httpx.AsyncClient) -> None:
    body = await _poll(client, "0s")
    assert (body["task_token"], body["poll_window"]) == ("", "0s")
    await client.post(f"{NS}/workflows", json=start_body("now"))
    assert (await _poll(client, "0s"))["task_token"]


async def test_the_backlog_hint_counts_up_to_its_cap(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exact while the backlog is small; capped beyond, so a poll's cost does not grow
    with the backlog (the cap is 1,000; 3 here)."""
    monkeypatch.setattr(matching, "BACKLOG_HINT_CAP", 3)
    for n in range(6):
        await client.post(f"{NS}/workflows", json=start_body(f"backlog-{n}"))
    hints = [(await _poll(client, "0s"))["backlog_count_hint"] for _ in range(6)]
    assert hints == [3, 3, 3, 2, 1, 0]


async def test_waiting_poller_gets_a_new_task_at_once(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    waiting = asyncio.create_task(_poll(client, "50s"))
    await wait_until(lambda: clock.pending_waits() == 1)
    await client.post(f"{NS}/workflows", json=start_body("woken"))
    body = await waiting
    assert body["workflow_execution"]["workflow_id"] == "woken"


async def test_timer_fires_and_workflow_completes(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await client.post(f"{NS}/workflows", json=start_body("timer"))
    task = await poll(client, clock)
    response = await complete(
        client,
        task["task_token"],
        [
            {
                "command_type": "START_TIMER",
                "start_timer_command_attributes": {
                    "timer_id": "t1",
                    "start_to_fire_timeout": "30s",
                },
            }
        ],
    )
    assert response.status_code == 200, response.text
    assert (await poll(client, clock))["task_token"] == ""
    clock.advance(30)
    await timers(app).run_once()
    task = await poll(client, clock)
    assert task["previous_started_event_id"] == 3
    assert [e["event_type"] for e in task["history"]][-3:] == [
        "TIMER_FIRED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    fired = task["history"][-3]["timer_fired_event_attributes"]
    assert fired == {"timer_id": "t1", "started_event_id": 5}
    response = await complete(
        client,
        task["task_token"],
        [
            {
                "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                "complete_workflow_execution_command_attributes": {},
            }
        ],
    )
    assert response.status_code == 200
    assert (await history_types(client, "timer"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_signal_during_task_makes_close_unhandled(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await client.post(f"{NS}/workflows", json=start_body("unhandled"))
    task = await poll(client, clock)
    await client.post(f"{NS}/workflows/unhandled/signal", json={"signal_name": "late"})
    assert await history_types(client, "unhandled") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    response = await complete(
        client,
        task["task_token"],
        [
            {
                "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                "complete_workflow_execution_command_attributes": {},
            }
        ],
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["cause"] == "UNHANDLED_COMMAND"
    assert await history_types(client, "unhandled") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    retry = await poll(client, clock)
    assert retry["attempt"] == 1


async def test_workflow_task_timeout_retries_transiently(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await client.post(f"{NS}/workflows", json=start_body("slow", workflow_task_timeout="10s"))
    first = await poll(client, clock)
    clock.advance(10)
    await timers(app).run_once()
    late = await complete(client, first["task_token"], [])
    assert_error(late, 409, "WORKFLOW_TASK_TIMEOUT")
    assert await history_types(client, "slow") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_TIMED_OUT",
    ]
    second = await poll(client, clock)
    assert second["attempt"] == 2
    assert [e["event_id"] for e in second["history"]][-2:] == [5, 6]
    clock.advance(10)
    await timers(app).run_once()
    assert len(await history_types(client, "slow")) == 4
    third = await poll(client, clock)
    assert third["attempt"] == 3
    response = await complete(
        client,
        third["task_token"],
        [
            {
                "command_type": "COMPLETE_WORKFLOW_EXECUTION",
                "complete_workflow_execution_command_attributes": {},
            }
        ],
    )
    assert response.status_code == 200, response.text
    assert (await history_types(client, "slow"))[4:] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]


async def test_bad_command_fails_the_task(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await client.post(f"{NS}/workflows", json=start_body("bad"))
    task = await poll(client, clock)
    response = await complete(
        client,
        task["task_token"],
        [
            {
                "command_type": "START_TIMER",
                "start_timer_command_attributes": {"timer_id": "t", "start_to_fire_timeout": "0s"},
            }
        ],
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["cause"] == "BAD_START_TIMER_ATTRIBUTES"
    assert (await history_types(client, "bad"))[-1] == "WORKFLOW_TASK_FAILED"


async def test_close_command_must_be_last(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await client.post(f"{NS}/workflows", json=start_body("order"))
    task = await poll(client, clock)
    response = await complete(
        client,
        task["task_token"],
        [
            {"command_type": "COMPLETE_WORKFLOW_EXECUTION"},
            {
                "command_type": "START_TIMER",
                "start_timer_command_attributes": {"timer_id": "t", "start_to_fire_timeout": "1s"},
            },
        ],
    )
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert len(await history_types(client, "order")) == 3


async def test_forged_and_foreign_tokens_are_refused(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await client.post(f"{NS}/workflows", json=start_body("tok"))
    task = await poll(client, clock)
    token = task["task_token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_error(await complete(client, forged, []), 400, "INVALID_ARGUMENT")
    assert_error(await complete(client, "not a token!", []), 400, "INVALID_ARGUMENT")
    await client.post(
        "/api/v1/namespaces",
        json={"namespace": "other", "workflow_execution_retention_period": "86400s"},
    )
    foreign = await client.post(
        "/api/v1/namespaces/other/workflow-tasks/complete",
        json={"task_token": token, "commands": []},
    )
    assert_error(foreign, 403, "PERMISSION_DENIED")


async def test_return_new_workflow_task(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await client.post(f"{NS}/workflows", json=start_body("eager"))
    task = await poll(client, clock)
    await client.post(f"{NS}/workflows/eager/signal", json={"signal_name": "s"})
    response = await complete(client, task["task_token"], [], return_new_workflow_task=True)
    assert response.status_code == 200, response.text
    new_task = response.json()["workflow_task"]
    assert new_task["task_token"]
    assert [e["event_type"] for e in new_task["history"]][-4:] == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert (await poll(client, clock))["task_token"] == ""


async def test_concurrent_pollers_never_share_a_task(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for n in range(20):
        await client.post(f"{NS}/workflows", json=start_body(f"many-{n}"))
    results = await asyncio.gather(*(poll(client, clock) for _ in range(30)))
    ids = [r["workflow_execution"]["workflow_id"] for r in results if r["task_token"]]
    assert sorted(ids) == sorted(f"many-{n}" for n in range(20))


async def test_transient_events_end_the_last_history_page(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    """A retried (transient) task whose history needs several pages: the worker finds the
    unwritten Scheduled/Started events at the end of the last page it fetches."""
    await client.post(f"{NS}/workflows", json=start_body("long", workflow_task_timeout="10s"))
    for n in range(300):
        await client.post(f"{NS}/workflows/long/signal", json={"signal_name": f"s{n}"})
    await poll(client, clock)
    clock.advance(10)
    await timers(app).run_once()
    task = await poll(client, clock)
    assert task["attempt"] == 2 and task["next_page_token"]
    events = list(task["history"])
    token = task["next_page_token"]
    while token:
        page = (
            await client.get(f"{NS}/workflows/long/history", params={"next_page_token": token})
        ).json()
        events += page["history"]
        token = page["next_page_token"]
    assert [e["event_type"] for e in events[-2:]] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert events[-1]["event_id"] == task["started_event_id"]
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))


async def test_a_task_the_worker_keeps_failing_backs_off(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await client.post(f"{NS}/workflows", json=start_body("failing"))
    for expected_attempt in (1, 2):
        task = await poll(client, clock)
        assert task["attempt"] == expected_attempt
        failed = await client.post(
            f"{NS}/workflow-tasks/fail",
            json={
                "task_token": task["task_token"],
                "cause": "WORKFLOW_WORKER_UNHANDLED_FAILURE",
                "failure": {"message": "boom"},
            },
        )
        assert failed.status_code == 200, failed.text
    assert (await poll(client, clock))["task_token"] == ""  # attempt 3 waits 1s
    await timers(app).run_once()
    third = await poll(client, clock)
    assert third["attempt"] == 3
    assert (await history_types(client, "failing"))[-1] == "WORKFLOW_TASK_FAILED"
