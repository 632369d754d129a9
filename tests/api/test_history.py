"""GetWorkflowExecutionHistory: paging, the close-event filter, long polls (driven by the
ManualClock, never by real time) and page-token checks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.conftest import assert_error, start_body, wait_until

WORKFLOWS = "/api/v1/namespaces/default/workflows"
POLL_WINDOW_SECONDS = 20  # Settings.history_long_poll_seconds default

STARTED = "WORKFLOW_EXECUTION_STARTED"
SCHEDULED = "WORKFLOW_TASK_SCHEDULED"
SIGNALED = "WORKFLOW_EXECUTION_SIGNALED"
TERMINATED = "WORKFLOW_EXECUTION_TERMINATED"


async def start(client: httpx.AsyncClient, workflow_id: str) -> str:
    response = await client.post(WORKFLOWS, json=start_body(workflow_id))
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def history_path(workflow_id: str, run_id: str = "") -> str:
    run = f"/runs/{run_id}" if run_id else ""
    return f"{WORKFLOWS}/{workflow_id}{run}/history"


async def get_page(
    client: httpx.AsyncClient, workflow_id: str, run_id: str = "", **params: Any
) -> dict[str, Any]:
    response = await client.get(history_path(workflow_id, run_id), params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def signal(client: httpx.AsyncClient, workflow_id: str, run_id: str, name: str) -> None:
    response = await client.post(
        f"{WORKFLOWS}/{workflow_id}/runs/{run_id}/signal", json={"signal_name": name}
    )
    assert response.status_code == 200, response.text


async def terminate(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> None:
    response = await client.post(
        f"{WORKFLOWS}/{workflow_id}/runs/{run_id}/terminate", json={"reason": "done"}
    )
    assert response.status_code == 200, response.text


def types(page: dict[str, Any]) -> list[str]:
    return [e["event_type"] for e in page["history"]]


async def until_waiting(
    clock: ManualClock, baseline: int, task: asyncio.Task[httpx.Response]
) -> None:
    """Wait (bounded) until the server registers one more clock wait than ``baseline``
    (the long poll is parked)."""
    await wait_until(lambda: clock.pending_waits() > baseline or task.done())
    if task.done():
        raise AssertionError(f"the poll returned instead of waiting: {task.result().text}")


def poll(client: httpx.AsyncClient, path: str, **params: Any) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(client.get(path, params=params))


# --- paging -------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 3, 4, 5, 13, 14, 100])
@pytest.mark.parametrize("signals", [9, 10])
async def test_paging_visits_every_event_once_in_order(
    client: httpx.AsyncClient, page_size: int, signals: int
) -> None:
    run_id = await start(client, "wf-pages")
    for n in range(signals):
        await signal(client, "wf-pages", run_id, f"s{n}")
    await terminate(client, "wf-pages", run_id)
    total = 2 + signals + 1

    seen: list[int] = []
    token = ""
    for _ in range(total + 2):
        params: dict[str, Any] = {"maximum_page_size": page_size}
        if token:
            params["next_page_token"] = token
        page = await get_page(client, "wf-pages", run_id, **params)
        assert len(page["history"]) <= page_size
        seen.extend(e["event_id"] for e in page["history"])
        token = page["next_page_token"]
        if not token:
            break
    else:
        raise AssertionError("paging did not end")

    assert seen == list(range(1, total + 1))
    assert token == ""


async def test_paging_types_on_current_run_route(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-pages")
    for n in range(10):
        await signal(client, "wf-pages", run_id, f"s{n}")

    first = await get_page(client, "wf-pages", maximum_page_size=3)
    assert [e["event_id"] for e in first["history"]] == [1, 2, 3]
    assert types(first) == [STARTED, SCHEDULED, SIGNALED]
    assert first["next_page_token"]
    second = await get_page(
        client, "wf-pages", maximum_page_size=3, next_page_token=first["next_page_token"]
    )
    assert [e["event_id"] for e in second["history"]] == [4, 5, 6]


async def test_page_size_zero_returns_everything(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-pages")
    for n in range(10):
        await signal(client, "wf-pages", run_id, f"s{n}")

    page = await get_page(client, "wf-pages", run_id, maximum_page_size=0)

    assert [e["event_id"] for e in page["history"]] == list(range(1, 13))
    assert page["next_page_token"] == ""


async def test_negative_page_size_is_rejected(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-pages")
    response = await client.get(history_path("wf-pages", run_id), params={"maximum_page_size": -1})
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "maximum_page_size"


# --- close-event filter -------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["CLOSE_EVENT", "HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT", "2"])
async def test_close_event_filter_on_closed_run(client: httpx.AsyncClient, spelling: str) -> None:
    run_id = await start(client, "wf-close")
    await signal(client, "wf-close", run_id, "s")
    await terminate(client, "wf-close", run_id)

    page = await get_page(client, "wf-close", run_id, history_event_filter_type=spelling)

    assert types(page) == [TERMINATED]
    assert page["history"][0]["event_id"] == 4
    assert page["next_page_token"] == ""


async def test_close_event_filter_on_running_run_without_wait_is_empty(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start(client, "wf-close")
    await signal(client, "wf-close", run_id, "s")

    page = await get_page(client, "wf-close", run_id, history_event_filter_type="CLOSE_EVENT")

    assert page["history"] == []
    assert page["next_page_token"] == ""


async def test_all_event_filter_full_name(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-close")
    page = await get_page(
        client, "wf-close", run_id, history_event_filter_type="HISTORY_EVENT_FILTER_TYPE_ALL_EVENT"
    )
    assert types(page) == [STARTED, SCHEDULED]


# --- long poll ----------------------------------------------------------------------


async def test_long_poll_returns_a_new_event(client: httpx.AsyncClient, clock: ManualClock) -> None:
    run_id = await start(client, "wf-poll")
    first = await get_page(client, "wf-poll", run_id, wait_new_event="true")
    assert [e["event_id"] for e in first["history"]] == [1, 2]
    assert first["next_page_token"], "a waiting read of a running run continues"

    baseline = clock.pending_waits()
    task = poll(
        client,
        history_path("wf-poll", run_id),
        wait_new_event="true",
        next_page_token=first["next_page_token"],
    )
    await until_waiting(clock, baseline, task)
    assert not task.done()

    await signal(client, "wf-poll", run_id, "wake-up")
    response = await task

    assert response.status_code == 200, response.text
    page = response.json()
    assert types(page) == [SIGNALED]
    assert page["history"][0]["event_id"] == 3
    assert page["history"][0]["workflow_execution_signaled_event_attributes"] == {
        "signal_name": "wake-up"
    }
    assert page["next_page_token"]


async def test_long_poll_times_out_with_a_token_that_continues(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    run_id = await start(client, "wf-poll")
    first = await get_page(client, "wf-poll", run_id, wait_new_event="true")

    baseline = clock.pending_waits()
    task = poll(
        client,
        history_path("wf-poll", run_id),
        wait_new_event="true",
        next_page_token=first["next_page_token"],
    )
    await until_waiting(clock, baseline, task)
    clock.advance(POLL_WINDOW_SECONDS + 1)
    response = await task

    assert response.status_code == 200, response.text
    empty = response.json()
    assert empty["history"] == []
    assert empty["next_page_token"]

    # The token continues where the poll left off: the next event is event 3.
    await signal(client, "wf-poll", run_id, "later")
    after = await get_page(
        client, "wf-poll", run_id, wait_new_event="true", next_page_token=empty["next_page_token"]
    )
    assert [e["event_id"] for e in after["history"]] == [3]
    assert types(after) == [SIGNALED]


async def test_consecutive_long_polls(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """A poll that got an event, then one that times out, then one that gets the next."""
    run_id = await start(client, "wf-poll")
    token = (await get_page(client, "wf-poll", run_id, wait_new_event="true"))["next_page_token"]
    path = history_path("wf-poll", run_id)

    task = poll(client, path, wait_new_event="true", next_page_token=token)
    await until_waiting(clock, clock.pending_waits(), task)
    await signal(client, "wf-poll", run_id, "one")
    got = (await task).json()
    assert [e["event_id"] for e in got["history"]] == [3]

    task = poll(client, path, wait_new_event="true", next_page_token=got["next_page_token"])
    await until_waiting(clock, clock.pending_waits(), task)
    clock.advance(POLL_WINDOW_SECONDS + 1)
    idle = (await task).json()
    assert idle["history"] == []
    assert idle["next_page_token"]

    task = poll(client, path, wait_new_event="true", next_page_token=idle["next_page_token"])
    await until_waiting(clock, clock.pending_waits(), task)
    await signal(client, "wf-poll", run_id, "two")
    got = (await task).json()
    assert [e["event_id"] for e in got["history"]] == [4]


async def test_long_poll_on_current_run_route(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    run_id = await start(client, "wf-poll")
    first = await get_page(client, "wf-poll", wait_new_event="true")

    task = poll(
        client,
        history_path("wf-poll"),
        wait_new_event="true",
        next_page_token=first["next_page_token"],
    )
    await until_waiting(clock, clock.pending_waits(), task)
    await terminate(client, "wf-poll", run_id)
    page = (await task).json()

    assert types(page) == [TERMINATED]
    assert page["next_page_token"] == ""


async def test_close_event_long_poll_returns_when_the_run_closes(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    run_id = await start(client, "wf-poll")
    path = history_path("wf-poll", run_id)

    baseline = clock.pending_waits()
    task = poll(client, path, wait_new_event="true", history_event_filter_type="CLOSE_EVENT")
    await until_waiting(clock, baseline, task)

    # A signal is not a close event: the poll is not even woken by it.
    started = clock.waits_started
    await signal(client, "wf-poll", run_id, "not-yet")
    for _ in range(20):
        await asyncio.sleep(0.005)
    assert not task.done()
    assert clock.waits_started == started and clock.pending_waits() == 1

    await terminate(client, "wf-poll", run_id)
    response = await task

    assert response.status_code == 200, response.text
    page = response.json()
    assert types(page) == [TERMINATED]
    assert page["history"][0]["event_id"] == 4
    assert page["next_page_token"] == ""


# --- page tokens --------------------------------------------------------------------


async def test_tampered_token_is_rejected(client: httpx.AsyncClient) -> None:
    run_id = await start(client, "wf-token")
    token = (await get_page(client, "wf-token", run_id, maximum_page_size=1))["next_page_token"]
    assert token
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]

    response = await client.get(
        history_path("wf-token", run_id), params={"next_page_token": tampered}
    )

    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "next_page_token"


@pytest.mark.parametrize("garbage", ["not-a-token", "!!!", "AAAA"])
async def test_garbage_token_is_rejected(client: httpx.AsyncClient, garbage: str) -> None:
    run_id = await start(client, "wf-token")
    response = await client.get(
        history_path("wf-token", run_id), params={"next_page_token": garbage}
    )
    assert_error(response, 400, "INVALID_ARGUMENT")


async def test_token_of_another_workflow_is_rejected(client: httpx.AsyncClient) -> None:
    run_a = await start(client, "wf-a")
    run_b = await start(client, "wf-b")
    token = (await get_page(client, "wf-a", run_a, maximum_page_size=1))["next_page_token"]
    assert token

    for path in (history_path("wf-b", run_b), history_path("wf-b")):
        response = await client.get(path, params={"next_page_token": token})
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert error["details"][0]["field"] == "next_page_token"


async def test_token_of_another_run_is_rejected(client: httpx.AsyncClient) -> None:
    old_run = await start(client, "wf-a")
    token = (await get_page(client, "wf-a", old_run, maximum_page_size=1))["next_page_token"]
    await terminate(client, "wf-a", old_run)
    new_run = await start(client, "wf-a")

    response = await client.get(history_path("wf-a", new_run), params={"next_page_token": token})

    assert_error(response, 400, "INVALID_ARGUMENT")
