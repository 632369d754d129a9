"""Bad input never yields a 500, and every error uses the spec's envelope
``{"error": {"code", "message", "details"}}`` with the status that belongs to the code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.clock import ManualClock
from app.errors import HTTP_STATUS, ApiError, ErrorCode
from app.main import create_app
from app.routers.strict_json import StrictJsonRoute
from app.settings import Settings
from tests.conftest import assert_error, start_body

WORKFLOWS = "/api/v1/namespaces/default/workflows"


def assert_bad_field(response: httpx.Response, field: str) -> dict[str, Any]:
    """400 INVALID_ARGUMENT with a BadRequest detail naming ``field`` (or a path inside it)."""
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    fields = [d.get("field", "") for d in error["details"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), (field, error)
    for detail in error["details"]:
        assert detail["type"] == "BadRequest", detail
        assert isinstance(detail["description"], str) and detail["description"]
    return error


async def start(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post(WORKFLOWS, json=body)


# --- malformed bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"workflow_id": "wf-1",', id="truncated"),
        pytest.param(b"{workflow_id: wf-1}", id="unquoted"),
        pytest.param(b"{'workflow_id': 'wf-1'}", id="single-quotes"),
        pytest.param(b"not json at all", id="text"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    ],
)
async def test_malformed_json_body(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        WORKFLOWS, content=raw, headers={"content-type": "application/json"}
    )
    error = assert_bad_field(response, "body")
    assert error["details"][0]["description"].startswith("request body is not valid JSON: ")
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("NaN", "NaN is not a JSON value", id="nan"),
        pytest.param("-Infinity", "-Infinity is not a JSON value", id="infinity"),
        pytest.param("1e400", "number is too large", id="overflowing-float"),
        pytest.param('"\\ud800"', "lone UTF-16 surrogate", id="lone-surrogate"),
        pytest.param('"\\udc00x"', "lone UTF-16 surrogate", id="lone-low-surrogate"),
        # 19 digits take the standard library's reader, which must refuse the same.
        pytest.param("[1234567890123456789, NaN]", "NaN", id="nan-beside-long-integer"),
        pytest.param(
            "[1234567890123456789, 1e400]", "too large", id="overflow-beside-long-integer"
        ),
        pytest.param(
            '[1234567890123456789, "\\ud800"]', "surrogate", id="surrogate-beside-long-integer"
        ),
    ],
)
async def test_values_json_does_not_have(
    client: httpx.AsyncClient, value: str, reason: str
) -> None:
    """The standard library reads NaN, Infinity, 1e400 and lone surrogates; JSON has none
    of them (a NaN was stored as null, a lone surrogate failed the write with a 500)."""
    raw = '{"workflow_id": "wf-odd", "workflow_type": {"name": "W"}, '
    raw += '"task_queue": {"name": "q"}, "input": [' + value + "]}"
    response = await client.post(
        WORKFLOWS, content=raw.encode(), headers={"content-type": "application/json"}
    )
    error = assert_bad_field(response, "body")
    assert error["details"][0]["description"].startswith("request body is not valid JSON: ")
    assert reason in error["details"][0]["description"]
    assert (await client.get(f"{WORKFLOWS}/wf-odd")).status_code == 404


def test_every_route_with_a_body_reads_it_strictly(app: FastAPI) -> None:
    with_body = [r for r in app.routes if isinstance(r, APIRoute) and r.body_field]
    assert len(with_body) > 20
    assert all(isinstance(route, StrictJsonRoute) for route in with_body)


async def test_integers_beyond_64_bits_are_kept_exact(client: httpx.AsyncClient) -> None:
    big = 123456789012345678901234567890
    raw = '{"workflow_id": "wf-big", "workflow_type": {"name": "W"}, '
    raw += f'"task_queue": {{"name": "q"}}, "input": [{big}, -{big}, 0.5, "\\ud83d\\ude00"]}}'
    response = await client.post(
        WORKFLOWS, content=raw.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    history = (await client.get(f"{WORKFLOWS}/wf-big/history")).json()["history"]
    started = history[0]["workflow_execution_started_event_attributes"]
    assert started["input"] == [big, -big, 0.5, "\U0001f600"]


async def test_empty_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        WORKFLOWS, content=b"", headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([start_body()], id="list"),
        pytest.param("wf-1", id="string"),
        pytest.param(42, id="number"),
        pytest.param(None, id="null"),
        pytest.param(True, id="bool"),
    ],
)
async def test_non_object_json_body(client: httpx.AsyncClient, body: Any) -> None:
    response = await start(client, body)
    assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(["default"], id="list"),
        pytest.param("default", id="string"),
    ],
)
async def test_non_object_json_body_on_register_namespace(
    client: httpx.AsyncClient, body: Any
) -> None:
    response = await client.post("/api/v1/namespaces", json=body)
    assert_error(response, 400, "INVALID_ARGUMENT")


# --- wrong types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("workflow_type", "OrderProcessingWorkflow", id="workflow-type-string"),
        pytest.param("workflow_type", {"name": 5}, id="workflow-type-name-number"),
        pytest.param("workflow_type", {}, id="workflow-type-no-name"),
        pytest.param("workflow_type", {"name": ""}, id="workflow-type-empty-name"),
        pytest.param("task_queue", 5, id="task-queue-number"),
        pytest.param("task_queue", ["q"], id="task-queue-list"),
        pytest.param("task_queue", "", id="task-queue-empty"),
        pytest.param("task_queue", {"name": None}, id="task-queue-null-name"),
        pytest.param("workflow_id", 12345, id="workflow-id-number"),
        pytest.param("workflow_id", None, id="workflow-id-null"),
        pytest.param("identity", {"who": "me"}, id="identity-object"),
        pytest.param("memo", "x", id="memo-string"),
        pytest.param("retry_policy", {"maximum_attempts": "three"}, id="retry-attempts-string"),
    ],
)
async def test_wrong_types(client: httpx.AsyncClient, field: str, value: Any) -> None:
    response = await start(client, start_body(**{field: value}))
    assert_bad_field(response, field)


@pytest.mark.parametrize("field", ["workflow_id", "workflow_type", "task_queue"])
async def test_required_field_missing(client: httpx.AsyncClient, field: str) -> None:
    body = start_body()
    del body[field]
    response = await start(client, body)
    error = assert_bad_field(response, field)
    assert any(d["description"] == "field required" for d in error["details"])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("text", id="string"),
        pytest.param(42, id="int"),
        pytest.param(1.5, id="float"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="null"),
        pytest.param([1, "two", {"three": 3}], id="list"),
        pytest.param({"deep": {"er": [None, False]}}, id="nested"),
    ],
)
async def test_input_accepts_any_json(client: httpx.AsyncClient, value: Any) -> None:
    response = await start(client, start_body(input=value))
    assert response.status_code == 200, response.text
    assert response.json()["started"] is True


async def test_task_queue_as_object_is_accepted(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body(task_queue={"name": "q", "kind": "NORMAL"}))
    assert response.status_code == 200, response.text


async def test_unknown_field_in_start_body(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body(workflow_timeout="10s"))
    error = assert_bad_field(response, "workflow_timeout")
    assert error["details"][0]["description"] == "unknown field"


# --- enums -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("SOMETIMES", id="unknown-name"),
        pytest.param("WORKFLOW_ID_REUSE_POLICY_SOMETIMES", id="unknown-proto-name"),
        pytest.param(99, id="unknown-number"),
        pytest.param(-1, id="negative-number"),
        pytest.param(True, id="bool"),
        pytest.param(["REJECT_DUPLICATE"], id="list"),
    ],
)
async def test_unknown_reuse_policy(client: httpx.AsyncClient, value: Any) -> None:
    response = await start(client, start_body(workflow_id_reuse_policy=value))
    assert_bad_field(response, "workflow_id_reuse_policy")


async def _terminate(client: httpx.AsyncClient, workflow_id: str) -> None:
    response = await client.post(f"{WORKFLOWS}/{workflow_id}/terminate", json={"reason": "test"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param("REJECT_DUPLICATE", id="short-name"),
        pytest.param("WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE", id="full-proto-name"),
        pytest.param("workflow_id_reuse_policy_reject_duplicate", id="lower-case"),
        pytest.param(3, id="proto-number"),
    ],
)
async def test_reuse_policy_spellings_are_accepted_and_mean_reject_duplicate(
    client: httpx.AsyncClient, policy: Any
) -> None:
    first = await start(client, start_body(workflow_id_reuse_policy=policy))
    assert first.status_code == 200, first.text
    await _terminate(client, "wf-1")
    # REJECT_DUPLICATE: even a terminated (failed) run blocks the id.
    second = await start(client, start_body(workflow_id_reuse_policy=policy))
    error = assert_error(second, 409, "WORKFLOW_EXECUTION_ALREADY_STARTED")
    assert error["details"][0]["run_id"] == first.json()["run_id"]


@pytest.mark.parametrize(
    "policy", ["ALLOW_DUPLICATE", "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE", 1]
)
async def test_reuse_policy_allow_duplicate_spellings(
    client: httpx.AsyncClient, policy: Any
) -> None:
    first = await start(client, start_body())
    assert first.status_code == 200, first.text
    await _terminate(client, "wf-1")
    second = await start(client, start_body(workflow_id_reuse_policy=policy))
    assert second.status_code == 200, second.text
    assert second.json()["run_id"] != first.json()["run_id"]


@pytest.mark.parametrize("policy", [0, "WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED", "UNSPECIFIED"])
async def test_reuse_policy_unspecified_means_the_default(
    client: httpx.AsyncClient, policy: Any
) -> None:
    """Proto3 JSON: 0 / *_UNSPECIFIED is a valid enum value meaning "not set", which
    Temporal treats as the default (ALLOW_DUPLICATE)."""
    first = await start(client, start_body(workflow_id_reuse_policy=policy))
    assert first.status_code == 200, first.text
    await _terminate(client, "wf-1")
    second = await start(client, start_body(workflow_id_reuse_policy=policy))
    assert second.status_code == 200, second.text


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"]
)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("-5s", id="negative"),
        pytest.param("ten seconds", id="words"),
        pytest.param(10, id="number"),
        pytest.param(10.5, id="float"),
        pytest.param("10", id="no-unit"),
        pytest.param("10m", id="minutes"),
        pytest.param("1h30m", id="go-style"),
        pytest.param("", id="empty"),
        pytest.param(True, id="bool"),
        pytest.param({"seconds": 10}, id="object"),
        pytest.param("3200000000s", id="over-100-years"),
        pytest.param("99999999999999s", id="beyond-timedelta"),
        pytest.param("1" * 40 + "s", id="forty-digits"),
    ],
)
async def test_bad_duration(client: httpx.AsyncClient, field: str, value: Any) -> None:
    response = await start(client, start_body(**{field: value}))
    assert_bad_field(response, field)


async def test_bad_duration_in_retry_policy(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body(retry_policy={"initial_interval": "-1s"}))
    assert_bad_field(response, "retry_policy.initial_interval")


@pytest.mark.parametrize("value", ["10s", "1.5s", "0.000000001s", "0s"])
async def test_good_durations_are_accepted(client: httpx.AsyncClient, value: str) -> None:
    response = await start(client, start_body(workflow_execution_timeout=value))
    assert response.status_code == 200, response.text


# --- ids -------------------------------------------------------------------------------


async def test_workflow_id_of_1001_characters(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body("w" * 1001))
    assert_bad_field(response, "workflow_id")


async def test_workflow_id_of_1000_characters_is_accepted(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body("w" * 1000))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("workflow_id", ["", "   "])
async def test_empty_workflow_id(client: httpx.AsyncClient, workflow_id: str) -> None:
    response = await start(client, start_body(workflow_id))
    assert_bad_field(response, "workflow_id")


async def test_workflow_type_name_of_1001_characters(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body(workflow_type={"name": "t" * 1001}))
    assert_bad_field(response, "workflow_type")


async def test_body_namespace_mismatch_on_start(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body(namespace="elsewhere"))
    assert_bad_field(response, "namespace")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("workflow_id", "wf\u0000nul", id="workflow-id"),
        pytest.param("workflow_type", {"name": "Type\u0000"}, id="workflow-type"),
        pytest.param("task_queue", "queue\u0000", id="task-queue"),
        pytest.param("identity", "me\u0000", id="identity"),
        pytest.param("request_id", "req\u0000", id="request-id"),
        pytest.param("input", "in\u0000put", id="input"),
    ],
)
async def test_nul_character_in_strings_is_not_a_500(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    """A NUL (valid JSON, but not storable in a PostgreSQL text column) is either stored
    or refused as INVALID_ARGUMENT naming the field; never an internal error."""
    response = await start(client, start_body(**{field: value}))
    if response.status_code != 200:
        assert_bad_field(response, field)


# --- routing ---------------------------------------------------------------------------


async def test_unknown_namespace_in_path(client: httpx.AsyncClient) -> None:
    started = await client.post("/api/v1/namespaces/nowhere/workflows", json=start_body())
    error = assert_error(started, 404, "NAMESPACE_NOT_FOUND")
    assert error["details"][0]["namespace"] == "nowhere"

    described = await client.get("/api/v1/namespaces/nowhere/workflows/wf-1")
    error = assert_error(described, 404, "NAMESPACE_NOT_FOUND")
    assert error["details"][0]["namespace"] == "nowhere"

    history = await client.get("/api/v1/namespaces/nowhere/workflows/wf-1/history")
    assert_error(history, 404, "NAMESPACE_NOT_FOUND")

    signal = await client.post(
        "/api/v1/namespaces/nowhere/workflows/wf-1/signal", json={"signal_name": "s"}
    )
    assert_error(signal, 404, "NAMESPACE_NOT_FOUND")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nope", "/nope", "/api/v2/namespaces", "/api/v1/namespaces/default/nope/deeper"],
)
async def test_unknown_route(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    error = assert_error(response, 404, "NOT_FOUND")
    assert error["details"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/namespaces"),
        ("DELETE", "/api/v1/namespaces"),
        ("PATCH", "/api/v1/namespaces/default"),
        ("PUT", "/api/v1/namespaces/default/workflows"),
        ("GET", "/api/v1/namespaces/default/update"),
    ],
)
async def test_wrong_method(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    error = assert_error(response, 501, "UNIMPLEMENTED")
    assert method in error["message"]


@pytest.mark.parametrize(
    "suffix", ["", "/history", "/signal", "/cancel", "/terminate"], ids=lambda s: s or "describe"
)
async def test_run_id_not_a_uuid(client: httpx.AsyncClient, suffix: str) -> None:
    started = await start(client, start_body())
    assert started.status_code == 200, started.text
    path = f"{WORKFLOWS}/wf-1/runs/not-a-uuid{suffix}"
    if suffix in ("", "/history"):
        response = await client.get(path)
    else:
        response = await client.post(path, json={"signal_name": "s"} if suffix == "/signal" else {})
    assert_bad_field(response, "run_id")


async def test_unknown_run_id_is_not_found(client: httpx.AsyncClient) -> None:
    started = await start(client, start_body())
    assert started.status_code == 200, started.text
    response = await client.get(f"{WORKFLOWS}/wf-1/runs/{uuid.uuid4()}")
    assert_error(response, 404, "WORKFLOW_EXECUTION_NOT_FOUND")


@pytest.mark.parametrize(
    "params",
    [
        {"maximum_page_size": -1},
        {"maximum_page_size": "lots"},
        {"wait_new_event": "perhaps"},
        {"history_event_filter_type": "SOME_EVENTS"},
    ],
)
async def test_bad_history_query_parameters(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    started = await start(client, start_body())
    assert started.status_code == 200, started.text
    response = await client.get(f"{WORKFLOWS}/wf-1/history", params=params)
    assert_bad_field(response, next(iter(params)))


async def _history_token(client: httpx.AsyncClient) -> tuple[str, str]:
    started = await start(client, start_body())
    assert started.status_code == 200, started.text
    run_id = started.json()["run_id"]
    first = await client.get(
        f"{WORKFLOWS}/wf-1/runs/{run_id}/history", params={"maximum_page_size": 1}
    )
    assert first.status_code == 200, first.text
    token = first.json()["next_page_token"]
    assert token
    return run_id, token


async def test_history_token_round_trip(client: httpx.AsyncClient) -> None:
    run_id, token = await _history_token(client)
    second = await client.get(
        f"{WORKFLOWS}/wf-1/runs/{run_id}/history",
        params={"maximum_page_size": 1, "next_page_token": token},
    )
    assert second.status_code == 200, second.text
    assert [e["event_id"] for e in second.json()["history"]] == [2]


@pytest.mark.parametrize("where", ["start", "middle", "end-1"])
async def test_tampered_history_token(client: httpx.AsyncClient, where: str) -> None:
    run_id, token = await _history_token(client)
    index = {"start": 0, "middle": len(token) // 2, "end-1": len(token) - 2}[where]
    tampered = token[:index] + ("B" if token[index] == "A" else "A") + token[index + 1 :]
    response = await client.get(
        f"{WORKFLOWS}/wf-1/runs/{run_id}/history",
        params={"maximum_page_size": 1, "next_page_token": tampered},
    )
    assert_bad_field(response, "next_page_token")


@pytest.mark.parametrize("token", ["garbage!!", "Zm9vYmFy", "\u00e9"])
async def test_garbage_history_token(client: httpx.AsyncClient, token: str) -> None:
    started = await start(client, start_body())
    assert started.status_code == 200, started.text
    response = await client.get(f"{WORKFLOWS}/wf-1/history", params={"next_page_token": token})
    assert_bad_field(response, "next_page_token")


async def test_history_token_of_another_workflow(client: httpx.AsyncClient) -> None:
    _, token = await _history_token(client)
    other = await start(client, start_body("wf-2"))
    assert other.status_code == 200, other.text
    response = await client.get(f"{WORKFLOWS}/wf-2/history", params={"next_page_token": token})
    assert_bad_field(response, "next_page_token")


async def test_namespace_list_token_used_for_history(client: httpx.AsyncClient) -> None:
    for name in ("n1", "n2"):
        registered = await client.post(
            "/api/v1/namespaces",
            json={"namespace": name, "workflow_execution_retention_period": "86400s"},
        )
        assert registered.status_code == 200, registered.text
    listed = await client.get("/api/v1/namespaces", params={"page_size": 1})
    token = listed.json()["next_page_token"]
    assert token
    started = await start(client, start_body())
    assert started.status_code == 200, started.text
    response = await client.get(f"{WORKFLOWS}/wf-1/history", params={"next_page_token": token})
    assert_bad_field(response, "next_page_token")


# --- unexpected exceptions -------------------------------------------------------------


@pytest.fixture
async def exploding_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(settings, clock=ManualClock())

    @application.get("/api/v1/explode")
    async def explode() -> None:
        raise RuntimeError("secret-internal")

    @application.post("/api/v1/explode-after-body")
    async def explode_after_body(payload: dict[str, Any]) -> None:
        raise KeyError(f"secret-internal {payload}")

    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def test_unexpected_exception_is_internal_with_correlation_id(
    exploding_client: httpx.AsyncClient,
) -> None:
    response = await exploding_client.get("/api/v1/explode")
    error = assert_error(response, 500, "INTERNAL")
    assert response.headers["content-type"].startswith("application/json")
    assert "secret-internal" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert len(error["details"]) == 1
    detail = error["details"][0]
    assert detail["type"] == "CorrelationId"
    correlation_id = detail["correlation_id"]
    assert str(uuid.UUID(correlation_id)) == correlation_id
    assert correlation_id in error["message"]


async def test_unexpected_exceptions_get_distinct_correlation_ids(
    exploding_client: httpx.AsyncClient,
) -> None:
    first = await exploding_client.get("/api/v1/explode")
    second = await exploding_client.post("/api/v1/explode-after-body", json={"a": 1})
    ids = []
    for response in (first, second):
        error = assert_error(response, 500, "INTERNAL")
        assert "secret-internal" not in response.text
        assert "Traceback" not in response.text
        ids.append(error["details"][0]["correlation_id"])
    assert ids[0] != ids[1]


async def test_unexpected_exception_is_logged_with_correlation_id(
    exploding_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="app.errors"):
        response = await exploding_client.get("/api/v1/explode")
    correlation_id = response.json()["error"]["details"][0]["correlation_id"]
    assert any(correlation_id in record.getMessage() for record in caplog.records)


async def test_app_keeps_serving_after_an_unexpected_exception(
    exploding_client: httpx.AsyncClient,
) -> None:
    assert_error(await exploding_client.get("/api/v1/explode"), 500, "INTERNAL")
    healthy = await exploding_client.get("/api/v1/namespaces/default")
    assert healthy.status_code == 200, healthy.text


# --- the status table ------------------------------------------------------------------

# gRPC-to-HTTP as grpc-gateway maps it (Temporal's HTTP API); the workflow-specific codes
# take the status of the standard code they refine (workflow already started refines
# ALREADY_EXISTS, the *_NOT_FOUND codes refine NOT_FOUND; the completed/timed-out ones are
# conflicts with the current state).
DOCUMENTED_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "ALREADY_EXISTS": 409,
    "NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
    "WORKFLOW_EXECUTION_ALREADY_STARTED": 409,
    "WORKFLOW_EXECUTION_NOT_FOUND": 404,
    "WORKFLOW_EXECUTION_COMPLETED": 409,
    "WORKFLOW_TASK_TIMEOUT": 409,
    "ACTIVITY_TASK_TIMEOUT": 409,
    "NAMESPACE_NOT_FOUND": 404,
    "TASK_QUEUE_NOT_FOUND": 404,
}


def test_every_spec_code_is_an_error_code_with_a_status() -> None:
    assert {c.value for c in ErrorCode} == set(DOCUMENTED_STATUS)
    assert set(HTTP_STATUS) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.value)
def test_status_and_body_of_each_code(code: ErrorCode) -> None:
    details = [{"type": "BadRequest", "field": "f", "description": "d"}]
    error = ApiError(code, "something went wrong", details)
    assert error.status == DOCUMENTED_STATUS[code.value]
    assert error.body() == {
        "error": {"code": code.value, "message": "something went wrong", "details": details}
    }
    bare = ApiError(code, "no details")
    assert bare.body() == {"error": {"code": code.value, "message": "no details", "details": []}}
    assert bare.headers == {}
    assert str(bare) == "no details"
