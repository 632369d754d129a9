"""The app's routes are ordered by traffic (app/main.py); no order may let one route
take another's requests: each route's own paths reach it first."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match

from app.clock import ManualClock
from app.input_limits import ENCODED_SLASH
from tests.api.worker_client import NS, Worker


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"some-\1", path)


def test_every_route_receives_its_own_requests(app: FastAPI) -> None:
    routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    assert len(routes) > 40
    for route in routes:
        for method in route.methods:
            scope = {
                "type": "http",
                "method": method,
                "path": _concrete(route.path),
                "root_path": "",
                "headers": [],
            }
            first = next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)
            assert first is route, f"{method} {route.path} is taken by {first.path}"  # type: ignore[attr-defined]


def test_the_busiest_routes_are_matched_first(app: FastAPI) -> None:
    paths = [getattr(route, "path", "") for route in app.router.routes]
    poll = "/api/v1/namespaces/{namespace}/task-queues/{task_queue}/workflow-tasks/poll"
    assert paths.index(poll) < paths.index("/openapi.json")


# --- ids with reserved characters ------------------------------------------------------
# Temporal allows any character but NUL in a workflow id or a task queue; in a path they
# are percent-encoded, and %2F must not become a segment separator (the server decodes
# it into / before routing: app.input_limits.ENCODED_SLASH).

RESERVED = [
    pytest.param("orders/2024/42", "team/payments", id="slashes"),
    pytest.param("/", "//", id="only-slashes"),
    pytest.param("100% sure?", "a#b c", id="percent-question-hash-space"),
    pytest.param("émile/☃", "キュー/ü", id="unicode"),
    pytest.param("a%2Fb", "x%252F", id="an-encoded-slash-taken-literally"),
    pytest.param("..", ".", id="dot-segments"),
]


def _in_path(value: str) -> str:
    # Dots too: clients drop a "." or ".." segment as written, never an encoded one.
    return quote(value, safe="").replace(".", "%2E")


@pytest.mark.parametrize(("workflow_id", "queue"), RESERVED)
async def test_ids_with_reserved_characters_are_reachable_on_every_route(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI, workflow_id: str, queue: str
) -> None:
    worker = Worker(client, clock, app)
    run_id = await worker.start(workflow_id, task_queue=queue)
    wf, q = f"{NS}/workflows/{_in_path(workflow_id)}", _in_path(queue)
    run = f"{wf}/runs/{run_id}"
    for path in (wf, run):
        described = await client.get(path)
        assert described.status_code == 200, described.text
        execution = described.json()["execution_info"]["execution"]
        assert execution == {"workflow_id": workflow_id, "run_id": run_id}
        assert (await client.get(f"{path}/history")).status_code == 200
        signaled = await client.post(f"{path}/signal", json={"signal_name": "go"})
        assert signaled.status_code == 200, signaled.text
    task = await worker.workflow_task(q)
    assert task["workflow_execution"]["workflow_id"] == workflow_id
    assert task["workflow_execution_task_queue"]["name"] == queue
    done = await worker.complete_workflow_task(
        task["task_token"],
        {
            "command_type": "COMPLETE_WORKFLOW_EXECUTION",
            "complete_workflow_execution_command_attributes": {"result": "done"},
        },
    )
    assert done.status_code == 200, done.text
    for path in (wf, run):
        result = await client.get(f"{path}/result")
        assert result.status_code == 200, result.text
        assert result.json()["result"] == "done"
    for path in (f"{NS}/task-queues/{q}", f"{NS}/task-queues/{q}/partitions"):
        assert (await client.get(path)).status_code == 200, path
    assert (await worker.activity_task(q))["task_token"] == ""
    # A second run for the routes that end one.
    second = await worker.start(workflow_id, task_queue=queue)
    canceled = await client.post(f"{wf}/runs/{second}/cancel", json={})
    assert canceled.status_code == 200, canceled.text
    terminated = await client.post(f"{wf}/terminate", json={"reason": "test"})
    assert terminated.status_code == 200, terminated.text
    queried = await client.post(f"{wf}/query", json={"query": {"query_type": "q"}})
    assert "No route" not in queried.text, queried.text


def test_every_id_in_a_path_is_a_parameter_the_encoded_slash_reaches(app: FastAPI) -> None:
    """The routes the scenario above does not call still take an id or a queue whole:
    each path parameter holding an encoded slash comes out of matching as the id."""
    for route in app.router.routes:
        if not isinstance(route, APIRoute) or "{" not in route.path:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}{ENCODED_SLASH}x", route.path)
        scope = {"type": "http", "method": next(iter(route.methods)), "path": path}
        match, child = route.matches({**scope, "root_path": "", "headers": []})
        assert match == Match.FULL, route.path
        for name, value in child["path_params"].items():
            assert value == f"{name}/x", (route.path, name)
        assert child["path"] == path.replace(ENCODED_SLASH, "/")


async def test_an_unknown_path_with_an_encoded_slash_is_named_as_sent(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"{NS}/nothing%2Fhere")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"No route for {NS}/nothing%2Fhere."
