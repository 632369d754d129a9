"""Task tokens on every worker endpoint: malformed, forged or of the wrong kind are
INVALID_ARGUMENT naming task_token; one issued in another namespace is PERMISSION_DENIED;
stale ones (the task completed, the attempt was retried or timed out, the run closed) are
NOT_FOUND; none is ever a 500. Also the validation of poll requests."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, QUEUE, Worker, complete_workflow, schedule_activity
from tests.conftest import assert_error, start_body, wait_until

API = "/api/v1/namespaces"
OTHER_NS = "other-ns"
FAILURE = {"message": "boom", "application_failure_info": {"type": "Boom"}}

# Each worker endpoint with a body that would be accepted with a live token.
WORKFLOW_ENDPOINTS: dict[str, dict[str, Any]] = {
    "workflow-tasks/complete": {"commands": []},
    "workflow-tasks/fail": {"cause": "WORKFLOW_WORKER_UNHANDLED_FAILURE", "failure": FAILURE},
}
ACTIVITY_ENDPOINTS: dict[str, dict[str, Any]] = {
    "activities/heartbeat": {"details": {"progress": 1}},
    "activities/complete": {"result": {"ok": True}},
    "activities/fail": {"failure": FAILURE},
    "activities/resolve-as-canceled": {"details": "stopped"},
}
ENDPOINTS = {**WORKFLOW_ENDPOINTS, **ACTIVITY_ENDPOINTS}

MALFORMED = {
    "garbage": "garbage",
    "empty": "",
    "not-base64": "!!!***not base64 at all***!!!",
    "non-ascii": "tökén-€",
    "padding-only": "====",
    "padding-in-the-middle": "YWJj=ZGVm",
    "short-valid-base64": "YQ",
    "huge-10k": "A" * 10_240,
    "huge-10k-mixed": ("Zm9vYmFy" * 1_280) + "%",
}


@dataclass
class Tokens:
    """Live tokens: a started workflow task and a started activity attempt."""

    workflow: str
    activity: str


async def answer(
    client: httpx.AsyncClient, endpoint: str, token: Any, namespace: str = "default"
) -> httpx.Response:
    body = {"task_token": token, "identity": "token-test", **ENDPOINTS[endpoint]}
    return await client.post(f"{API}/{namespace}/{endpoint}", json=body)


def assert_bad_token(response: httpx.Response) -> None:
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    fields = [d.get("field") for d in error["details"]]
    assert "task_token" in fields, error


def assert_invalid_task_token(response: httpx.Response) -> None:
    """Refused by the signer: the message names the token's kind, not a page token."""
    assert_bad_token(response)
    assert response.json()["error"]["message"] == "task_token is not a valid task token"


def assert_stale(response: httpx.Response) -> None:
    assert_error(response, 404, "NOT_FOUND")


def is_workflow_endpoint(endpoint: str) -> bool:
    return endpoint in WORKFLOW_ENDPOINTS


async def live_tokens(worker: Worker, prefix: str, namespace: str = "default") -> Tokens:
    """One run with a started activity attempt, another with a started workflow task."""
    ns = f"{API}/{namespace}"
    started = await worker.client.post(f"{ns}/workflows", json=start_body(f"{prefix}-activity"))
    assert started.status_code == 200, started.text
    task = await poll(worker, "workflow", namespace)
    done = await worker.client.post(
        f"{ns}/workflow-tasks/complete",
        json={"task_token": task["task_token"], "commands": [schedule_activity()]},
    )
    assert done.status_code == 200, done.text
    activity = await poll(worker, "activity", namespace)
    assert activity["task_token"], activity
    started = await worker.client.post(f"{ns}/workflows", json=start_body(f"{prefix}-workflow"))
    assert started.status_code == 200, started.text
    workflow_task = await poll(worker, "workflow", namespace)
    assert workflow_task["task_token"], workflow_task
    return Tokens(workflow=workflow_task["task_token"], activity=activity["task_token"])


async def poll(worker: Worker, kind: str, namespace: str = "default") -> dict[str, Any]:
    """Like Worker's poll, in any namespace: a task at once, or empty after moving the clock."""
    polling = asyncio.create_task(
        worker.client.post(
            f"{API}/{namespace}/task-queues/{QUEUE}/{kind}-tasks/poll",
            json={"identity": "token-test", "wait_timeout": "1s"},
        )
    )
    await wait_until(lambda: polling.done() or worker.clock.pending_waits() > 0)
    if not polling.done():
        worker.clock.advance(1)
    response = await polling
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def token_for(tokens: Tokens, endpoint: str) -> str:
    return tokens.workflow if is_workflow_endpoint(endpoint) else tokens.activity


def one_char_changed(token: str, position: int) -> str:
    original = token[position]
    replacement = "B" if original == "A" else "A"
    return token[:position] + replacement + token[position + 1 :]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
async def worker(client: httpx.AsyncClient, clock: ManualClock, app: FastAPI) -> Worker:
    return Worker(client, clock, app)


async def register_other_namespace(client: httpx.AsyncClient) -> None:
    response = await client.post(
        API, json={"namespace": OTHER_NS, "workflow_execution_retention_period": "259200s"}
    )
    assert response.status_code == 200, response.text


# --- malformed, forged, wrong kind, wrong namespace: 400 naming task_token ---


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_malformed_tokens_are_invalid_argument(
    client: httpx.AsyncClient, endpoint: str
) -> None:
    for name, token in MALFORMED.items():
        response = await answer(client, endpoint, token)
        assert response.status_code == 400, f"{name}: {response.status_code} {response.text}"
        assert_invalid_task_token(response)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("token", [None, 12345, ["a"], {"k": "v"}])
async def test_token_of_the_wrong_json_type_is_invalid_argument(
    client: httpx.AsyncClient, endpoint: str, token: Any
) -> None:
    assert_bad_token(await answer(client, endpoint, token))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_missing_token_is_invalid_argument(client: httpx.AsyncClient, endpoint: str) -> None:
    response = await client.post(f"{NS}/{endpoint}", json=ENDPOINTS[endpoint])
    assert_bad_token(response)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_forged_tokens_are_invalid_argument(worker: Worker, endpoint: str) -> None:
    tokens = await live_tokens(worker, "forged")
    real = token_for(tokens, endpoint)
    # One character changed anywhere but the last (whose low bits base64 may ignore).
    for position in sorted({0, 1, 10, 21, 22, len(real) // 2, len(real) - 2}):
        forged = one_char_changed(real, position)
        assert forged != real
        response = await answer(worker.client, endpoint, forged)
        assert response.status_code == 400, f"position {position}: {response.text}"
        assert_invalid_task_token(response)
    # Truncated and extended.
    for forged in (real[:-4], real[:22], real + "AAAA"):
        assert_invalid_task_token(await answer(worker.client, endpoint, forged))
    # Base64 of random bytes, of a few lengths.
    for size in (1, 16, 17, 64, 300):
        assert_invalid_task_token(await answer(worker.client, endpoint, b64(os.urandom(size))))
    # Hand-built: plausible claims (the right kind, namespace and run) under a made-up MAC.
    claims = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4))[16:])
    body = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    for mac in (os.urandom(16), bytes(16)):
        assert_invalid_task_token(await answer(worker.client, endpoint, b64(mac + body)))
    # The real token, untouched, is still accepted: the refusals changed nothing.
    accepted = await answer(worker.client, endpoint, real)
    if endpoint == "activities/resolve-as-canceled":
        assert_error(accepted, 400, "FAILED_PRECONDITION")  # no cancel was requested
    else:
        assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_token_of_the_other_task_kind_is_invalid_argument(
    worker: Worker, endpoint: str
) -> None:
    tokens = await live_tokens(worker, "kind")
    wrong = tokens.activity if is_workflow_endpoint(endpoint) else tokens.workflow
    assert_bad_token(await answer(worker.client, endpoint, wrong))
    # A history page token is signed by the same key but is no task token either.
    page = await worker.client.get(
        f"{NS}/workflows/kind-activity/history", params={"maximum_page_size": 1}
    )
    page_token = page.json()["next_page_token"]
    assert page_token
    assert_bad_token(await answer(worker.client, endpoint, page_token))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_token_of_another_namespace_is_permission_denied(
    worker: Worker, endpoint: str
) -> None:
    await register_other_namespace(worker.client)
    here = await live_tokens(worker, "here")
    there = await live_tokens(worker, "there", namespace=OTHER_NS)
    assert_error(
        await answer(worker.client, endpoint, token_for(there, endpoint)), 403, "PERMISSION_DENIED"
    )
    assert_error(
        await answer(worker.client, endpoint, token_for(here, endpoint), namespace=OTHER_NS),
        403,
        "PERMISSION_DENIED",
    )
    # Under a namespace that does not exist at all, the namespace is what is missing.
    missing = await answer(worker.client, endpoint, token_for(here, endpoint), namespace="nope")
    assert_error(missing, 404, "NAMESPACE_NOT_FOUND")
    # The body may repeat the namespace, but must agree with the path.
    mismatch = await worker.client.post(
        f"{NS}/{endpoint}",
        json={
            "task_token": token_for(here, endpoint),
            "namespace": OTHER_NS,
            **ENDPOINTS[endpoint],
        },
    )
    assert_error(mismatch, 400, "INVALID_ARGUMENT")


# --- stale tokens: 404 NOT_FOUND ---


async def assert_stale_everywhere(client: httpx.AsyncClient, token: str, kind: str) -> None:
    endpoints = WORKFLOW_ENDPOINTS if kind == "workflow" else ACTIVITY_ENDPOINTS
    for endpoint in endpoints:
        response = await answer(client, endpoint, token)
        assert response.status_code == 404, f"{endpoint}: {response.status_code} {response.text}"
        assert_stale(response)


async def test_workflow_task_token_is_stale_once_the_task_completed(worker: Worker) -> None:
    await worker.start("done")
    task = await worker.workflow_task()
    first = await worker.complete_workflow_task(task["task_token"], schedule_activity())
    assert first.status_code == 200, first.text
    await assert_stale_everywhere(worker.client, task["task_token"], "workflow")
    # Still stale after the next workflow task was scheduled and started.
    await worker.client.post(f"{NS}/workflows/done/signal", json={"signal_name": "poke"})
    second = await worker.workflow_task()
    assert second["task_token"] and second["task_token"] != task["task_token"]
    await assert_stale_everywhere(worker.client, task["task_token"], "workflow")


async def test_workflow_task_token_is_stale_once_the_task_failed(worker: Worker) -> None:
    await worker.start("failed-task")
    task = await worker.workflow_task()
    failed = await answer(worker.client, "workflow-tasks/fail", task["task_token"])
    assert failed.status_code == 200, failed.text
    await assert_stale_everywhere(worker.client, task["task_token"], "workflow")
    retry = await worker.workflow_task()
    assert retry["attempt"] == 2
    await assert_stale_everywhere(worker.client, task["task_token"], "workflow")
    done = await worker.complete_workflow_task(retry["task_token"], complete_workflow("ok"))
    assert done.status_code == 200, done.text
    await assert_stale_everywhere(worker.client, retry["task_token"], "workflow")


async def test_timed_out_workflow_task_token_is_workflow_task_timeout(worker: Worker) -> None:
    """A late answer to a timed-out attempt says why (409, as documented), never a 500."""
    await worker.start("wft-timeout", workflow_task_timeout="10s")
    task = await worker.workflow_task()
    await worker.fire_timers(10)
    for endpoint in WORKFLOW_ENDPOINTS:
        response = await answer(worker.client, endpoint, task["task_token"])
        error = assert_error(response, 409, "WORKFLOW_TASK_TIMEOUT")
        assert error["details"][0]["attempt"] == 1, error
    retry = await worker.workflow_task()
    assert retry["attempt"] == 2
    done = await worker.complete_workflow_task(retry["task_token"], complete_workflow("ok"))
    assert done.status_code == 200, done.text
    await assert_stale_everywhere(worker.client, retry["task_token"], "workflow")


async def test_activity_token_is_stale_once_the_attempt_completed(worker: Worker) -> None:
    tokens = await live_tokens(worker, "completed")
    done = await answer(worker.client, "activities/complete", tokens.activity)
    assert done.status_code == 200, done.text
    await assert_stale_everywhere(worker.client, tokens.activity, "activity")


async def test_activity_token_is_stale_once_the_attempt_is_retried(worker: Worker) -> None:
    await worker.start("retried")
    task = await worker.workflow_task()
    await worker.complete_workflow_task(
        task["task_token"], schedule_activity(retry_policy={"initial_interval": "2s"})
    )
    first = await worker.activity_task()
    failed = await answer(worker.client, "activities/fail", first["task_token"])
    assert failed.status_code == 200, failed.text
    # Backing off: the first attempt is over.
    await assert_stale_everywhere(worker.client, first["task_token"], "activity")
    await worker.fire_timers(2)
    second = await worker.activity_task()
    assert second["attempt"] == 2
    await assert_stale_everywhere(worker.client, first["task_token"], "activity")
    beat = await answer(worker.client, "activities/heartbeat", second["task_token"])
    assert beat.status_code == 200, beat.text


async def test_activity_token_is_stale_once_the_attempt_timed_out(worker: Worker) -> None:
    await worker.start("timed-out")
    task = await worker.workflow_task()
    await worker.complete_workflow_task(
        task["task_token"],
        schedule_activity(start_to_close_timeout="5s", retry_policy={"maximum_attempts": 1}),
    )
    activity = await worker.activity_task()
    await worker.fire_timers(5)
    assert (await worker.event_types("timed-out"))[-2] == "ACTIVITY_TASK_TIMED_OUT"
    await assert_stale_everywhere(worker.client, activity["task_token"], "activity")


async def test_timed_out_and_retried_activity_token_is_activity_task_timeout(
    worker: Worker,
) -> None:
    await worker.start("timed-out-retried")
    task = await worker.workflow_task()
    await worker.complete_workflow_task(
        task["task_token"],
        schedule_activity(start_to_close_timeout="5s", retry_policy={"initial_interval": "1s"}),
    )
    first = await worker.activity_task()
    await worker.fire_timers(5)
    for endpoint in ACTIVITY_ENDPOINTS:
        response = await answer(worker.client, endpoint, first["task_token"])
        error = assert_error(response, 409, "ACTIVITY_TASK_TIMEOUT")
        assert error["details"][0]["attempt"] == 1, error


async def test_tokens_are_stale_once_the_workflow_is_terminated(worker: Worker) -> None:
    tokens = await live_tokens(worker, "terminated")
    for workflow_id in ("terminated-activity", "terminated-workflow"):
        response = await worker.client.post(
            f"{NS}/workflows/{workflow_id}/terminate", json={"reason": "test"}
        )
        assert response.status_code == 200, response.text
    await assert_stale_everywhere(worker.client, tokens.workflow, "workflow")
    await assert_stale_everywhere(worker.client, tokens.activity, "activity")


async def test_activity_token_is_stale_once_the_workflow_completed(worker: Worker) -> None:
    await worker.start("closed")
    task = await worker.workflow_task()
    await worker.complete_workflow_task(task["task_token"], schedule_activity())
    activity = await worker.activity_task()
    await worker.client.post(f"{NS}/workflows/closed/signal", json={"signal_name": "finish"})
    task = await worker.workflow_task()
    done = await worker.complete_workflow_task(task["task_token"], complete_workflow("early"))
    assert done.status_code == 200, done.text
    await assert_stale_everywhere(worker.client, activity["task_token"], "activity")


# --- poll request validation ---


async def bounded_poll(
    worker: Worker, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """A poll that cannot hang the test: were it to park, the clock is moved past it."""
    polling = asyncio.create_task(worker.client.post(path, json=body or {}))
    await wait_until(lambda: polling.done() or worker.clock.pending_waits() > 0)
    if not polling.done():
        worker.clock.advance(60)
    return await polling


@pytest.mark.parametrize("kind", ["workflow", "activity"])
async def test_poll_task_queue_in_the_body_must_match_the_path(worker: Worker, kind: str) -> None:
    path = f"{NS}/task-queues/{QUEUE}/{kind}-tasks/poll"
    for named in ("another-queue", {"name": "another-queue"}):
        response = await bounded_poll(worker, path, {"task_queue": named, "wait_timeout": "1s"})
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert error["details"][0]["field"] == "task_queue", error
    # The same name is fine.
    same = await bounded_poll(worker, path, {"task_queue": {"name": QUEUE}, "wait_timeout": "1s"})
    assert same.status_code == 200, same.text


@pytest.mark.parametrize("kind", ["workflow", "activity"])
async def test_poll_of_an_unknown_namespace_is_namespace_not_found(
    worker: Worker, kind: str
) -> None:
    response = await bounded_poll(
        worker, f"{API}/no-such-namespace/task-queues/{QUEUE}/{kind}-tasks/poll", {}
    )
    assert_error(response, 404, "NAMESPACE_NOT_FOUND")


@pytest.mark.parametrize("kind", ["workflow", "activity"])
@pytest.mark.parametrize("wait_timeout", ["-1s", "soon", "1h", 5])
async def test_poll_with_a_bad_wait_timeout_is_invalid_argument(
    worker: Worker, kind: str, wait_timeout: Any
) -> None:
    response = await bounded_poll(
        worker, f"{NS}/task-queues/{QUEUE}/{kind}-tasks/poll", {"wait_timeout": wait_timeout}
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "wait_timeout", error


@pytest.mark.parametrize("kind", ["workflow", "activity"])
async def test_poll_namespace_in_the_body_must_match_the_path(worker: Worker, kind: str) -> None:
    response = await bounded_poll(
        worker, f"{NS}/task-queues/{QUEUE}/{kind}-tasks/poll", {"namespace": OTHER_NS}
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "namespace", error
