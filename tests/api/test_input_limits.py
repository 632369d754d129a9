from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import json_codec
from app.json_codec import MAX_NESTING
from app.main import create_app
from app.settings import Settings
from tests.conftest import assert_error, start_body

URL = "/api/v1/namespaces/default/workflows"


async def _client_with_limit(database_url: str, limit: int) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, max_request_body_bytes=limit))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_declared_oversize_body_is_refused(database_url: str) -> None:
    async for client in _client_with_limit(database_url, 1000):
        response = await client.post(URL, json={"workflow_id": "x" * 2000})
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert error["details"][0]["field"] == "body"


async def test_streamed_oversize_body_is_refused(database_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"workflow_id": "' + b"x" * 600
        yield b"x" * 600 + b'"}'

    async for client in _client_with_limit(database_url, 1000):
        response = await client.post(URL, content=chunks())
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert "larger than 1000 bytes" in error["message"]


async def test_body_under_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, json={"workflow_id": "small", "workflow_type": {"name": "W"}, "task_queue": "q"}
    )
    assert response.status_code == 200, response.text


async def test_nul_in_the_path_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/namespaces/default/workflows/wf%00x")
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "path"


async def test_search_attributes_have_temporal_size_limits(client: httpx.AsyncClient) -> None:
    ns = "/api/v1/namespaces/default/workflows"
    big_value = {"CustomerId": {"data": "x" * 3000}}
    response = await client.post(
        ns, json=start_body("sa-1", search_attributes={"indexed_fields": big_value})
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "larger than 2048 bytes" in error["message"]
    many = {f"Attr{n}": {"data": "y" * 2000} for n in range(25)}
    response = await client.post(
        ns, json=start_body("sa-2", search_attributes={"indexed_fields": many})
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert "40960 bytes in all" in error["message"]
    fits = {"CustomerId": {"data": "x" * 2000}}
    response = await client.post(
        ns, json=start_body("sa-3", search_attributes={"indexed_fields": fits})
    )
    assert response.status_code == 200, response.text


# --- nesting -------------------------------------------------------------------------


def _nested(depth: int, leaf: str = "1") -> str:
    """JSON text of arrays ``depth`` deep (raw text: the standard library cannot write
    a value thousands of levels deep)."""
    return "[" * depth + leaf + "]" * depth


def _start_text(workflow_id: str, input_text: str, queue: str = "deep-queue") -> str:
    return (
        f'{{"workflow_id": "{workflow_id}", "workflow_type": {{"name": "W"}}, '
        f'"task_queue": "{queue}", "input": {input_text}}}'
    )


def _value(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _innermost(value: Any) -> tuple[int, Any]:
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    return depth, value


async def _post_text(client: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    return await client.post(path, content=text, headers={"content-type": "application/json"})


@pytest.mark.parametrize("below", [0, 1])
async def test_a_body_nesting_up_to_the_limit_is_accepted_and_reads_back(
    client: httpx.AsyncClient, below: int
) -> None:
    # The body is level 1, its input level 2: the input's innermost array is level LIMIT.
    depth = MAX_NESTING - 1 - below
    started = await _post_text(client, URL, _start_text("deep", _nested(depth)))
    assert started.status_code == 200, started.text
    described = await client.get(f"{URL}/deep")
    assert described.status_code == 200, described.text
    history = await client.get(f"{URL}/deep/history")
    assert history.status_code == 200, history.text
    poll = await client.post(
        "/api/v1/namespaces/default/task-queues/deep-queue/workflow-tasks/poll",
        json={"wait_timeout": "1s"},
    )
    assert poll.status_code == 200, poll.text
    for events in (
        described.json()["workflow_execution_history"],
        history.json()["history"],
        poll.json()["history"],
    ):
        attributes = events[0]["workflow_execution_started_event_attributes"]
        assert _innermost(attributes["input"]) == (depth, 1)


@pytest.mark.parametrize("depth", [MAX_NESTING, 5000])
@pytest.mark.parametrize("leaf", ["1", "1" + "0" * 20], ids=["orjson", "long-integer"])
async def test_a_body_nesting_past_the_limit_is_refused(
    client: httpx.AsyncClient, depth: int, leaf: str
) -> None:
    response = await _post_text(client, URL, _start_text("too-deep", _nested(depth, leaf)))
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "body"
    assert f"more than {MAX_NESTING} levels deep" in error["message"]
    assert (await client.get(f"{URL}/too-deep")).status_code == 404


async def test_every_json_body_has_the_nesting_limit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    deep = '{"x": ' + _nested(MAX_NESTING) + "}"
    routes = [
        route
        for route in app.routes
        if isinstance(route, APIRoute) and route.body_field is not None
    ]
    assert len(routes) > 20  # starts, signals, completions, queries, namespaces, keys, ...
    for route in routes:
        path = re.sub(r"\{(\w+)\}", "x", route.path)
        for method in route.methods:
            response = await client.request(
                method, path, content=deep, headers={"content-type": "application/json"}
            )
            error = assert_error(response, 400, "INVALID_ARGUMENT")
            assert "levels deep" in error["message"], (method, route.path)


async def test_a_value_stored_deeper_than_the_limit_is_read_as_its_payload(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a server without the limit stored (255 levels failed every read) is answered
    as its base64 payload, never a 500."""
    with monkeypatch.context() as before_the_limit:
        before_the_limit.setattr(json_codec, "MAX_NESTING", 1000)
        started = await _post_text(client, URL, _start_text("old", _nested(300), "old-queue"))
        assert started.status_code == 200, started.text
    described = await client.get(f"{URL}/old")
    assert described.status_code == 200, described.text
    poll = await client.post(
        "/api/v1/namespaces/default/task-queues/old-queue/workflow-tasks/poll",
        json={"wait_timeout": "1s"},
    )
    assert poll.status_code == 200, poll.text
    attributes = poll.json()["history"][0]["workflow_execution_started_event_attributes"]
    (payload,) = attributes["input"]["payloads"]
    assert base64.b64decode(payload["data"]) == _nested(300).encode()


async def test_long_ids_of_multibyte_characters_start_and_poll(client: httpx.AsyncClient) -> None:
    """700 emoji are within the 1,000-character limit and 2,800 bytes; on PostgreSQL their
    wake-up key once overflowed NOTIFY's 8,000-byte payload (a 500 at start)."""
    workflow_id, queue = "😀" * 700, "🚀" * 700
    started = await client.post(URL, json=start_body(workflow_id, task_queue=queue))
    assert started.status_code == 200, started.text
    poll = await client.post(
        f"/api/v1/namespaces/default/task-queues/{quote(queue, safe='')}/workflow-tasks/poll",
        json={"wait_timeout": "1s"},
    )
    assert poll.status_code == 200, poll.text
    assert poll.json()["workflow_execution"]["workflow_id"] == workflow_id
    signal = await client.post(
        f"{URL}/{quote(workflow_id, safe='')}/signal", json={"signal_name": "go"}
    )
    assert signal.status_code == 200, signal.text
