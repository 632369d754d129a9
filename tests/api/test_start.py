"""StartWorkflowExecution: the spec's example, Temporal's timeout defaulting, request-id
idempotency, id reuse and conflict policies, retry-policy validation, cron, and the
current-run describe route."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.conftest import assert_error, start_body

WORKFLOWS = "/api/v1/namespaces/default/workflows"

# The spec's StartWorkflowExecution example request, verbatim.
SPEC_START_BODY: dict[str, Any] = {
    "namespace": "default",
    "workflow_id": "order-processing-12345",
    "workflow_type": {"name": "OrderProcessingWorkflow"},
    "task_queue": "order-processing-queue",
    "input": {
        "order_id": "12345",
        "customer_id": "customer-67890",
        "items": [{"product_id": "product-001", "quantity": 2, "price": 29.99}],
    },
    "workflow_execution_timeout": "86400s",
    "workflow_run_timeout": "3600s",
    "workflow_task_timeout": "10s",
    "identity": "order-service-v1.2.3",
    "workflow_id_reuse_policy": "ALLOW_DUPLICATE_FAILED_ONLY",
    "retry_policy": {
        "initial_interval": "1s",
        "backoff_coefficient": 2.0,
        "maximum_interval": "100s",
        "maximum_attempts": 3,
    },
    "memo": {"fields": {"environment": {"data": "production"}, "version": {"data": "v1.2.3"}}},
    "search_attributes": {
        "indexed_fields": {
            "OrderId": {"data": "12345"},
            "CustomerId": {"data": "customer-67890"},
            "Environment": {"data": "production"},
        }
    },
}


async def start(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(WORKFLOWS, json=body)


async def start_ok(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await start(client, body)
    assert response.status_code == 200, response.text
    assert response.json()["started"] is True
    run_id: str = response.json()["run_id"]
    return run_id


async def describe(client: httpx.AsyncClient, workflow_id: str, run_id: str = "") -> Any:
    path = f"{WORKFLOWS}/{workflow_id}" + (f"/runs/{run_id}" if run_id else "")
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def history(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> list[Any]:
    response = await client.get(f"{WORKFLOWS}/{workflow_id}/runs/{run_id}/history")
    assert response.status_code == 200, response.text
    events: list[Any] = response.json()["history"]
    return events


async def terminate(client: httpx.AsyncClient, workflow_id: str, run_id: str) -> None:
    response = await client.post(
        f"{WORKFLOWS}/{workflow_id}/runs/{run_id}/terminate", json={"reason": "test"}
    )
    assert response.status_code == 200, response.text


def attrs(event: dict[str, Any]) -> dict[str, Any]:
    key = f"{event['event_type'].lower()}_event_attributes"
    value: dict[str, Any] = event[key]
    return value


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the spec's example -------------------------------------------------------------


async def test_spec_example_start(client: httpx.AsyncClient, clock: ManualClock) -> None:
    response = await start(client, copy.deepcopy(SPEC_START_BODY))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"run_id", "started"}
    assert body["started"] is True
    run_id = body["run_id"]
    uuid.UUID(run_id)

    events = await history(client, "order-processing-12345", run_id)
    assert [(e["event_id"], e["event_type"]) for e in events] == [
        (1, "WORKFLOW_EXECUTION_STARTED"),
        (2, "WORKFLOW_TASK_SCHEDULED"),
    ]
    assert all(at(e["event_time"]) == clock.now() for e in events)

    started = attrs(events[0])
    assert started["workflow_type"] == {"name": "OrderProcessingWorkflow"}
    assert started["task_queue"] == {"name": "order-processing-queue", "kind": "NORMAL"}
    assert started["input"] == SPEC_START_BODY["input"]
    assert started["workflow_execution_timeout"] == "86400s"
    assert started["workflow_run_timeout"] == "3600s"
    assert started["workflow_task_timeout"] == "10s"
    assert started["identity"] == "order-service-v1.2.3"
    assert started["retry_policy"] == {
        "initial_interval": "1s",
        "backoff_coefficient": 2.0,
        "maximum_interval": "100s",
        "maximum_attempts": 3,
    }
    assert started["memo"] == SPEC_START_BODY["memo"]
    assert started["search_attributes"] == SPEC_START_BODY["search_attributes"]
    assert started["first_execution_run_id"] == run_id
    assert started["original_execution_run_id"] == run_id
    assert started["attempt"] == 1
    assert started["workflow_id"] == "order-processing-12345"
    assert started["first_workflow_task_backoff"] == "0s"
    assert at(started["workflow_execution_expiration_time"]) == clock.now() + timedelta(days=1)
    assert "cron_schedule" not in started
    assert "initiator" not in started

    assert attrs(events[1]) == {
        "task_queue": {"name": "order-processing-queue", "kind": "NORMAL"},
        "start_to_close_timeout": "10s",
        "attempt": 1,
    }

    described = await describe(client, "order-processing-12345", run_id)
    info = described["execution_info"]
    assert info["execution"] == {"workflow_id": "order-processing-12345", "run_id": run_id}
    assert info["status"] == "RUNNING"
    assert info["history_length"] == 2
    assert info["memo"] == SPEC_START_BODY["memo"]
    assert info["search_attributes"] == SPEC_START_BODY["search_attributes"]
    assert at(info["start_time"]) == clock.now()
    assert at(info["execution_time"]) == clock.now()
    assert described["pending_workflow_task"]["state"] == "SCHEDULED"
    assert described["pending_workflow_task"]["attempt"] == 1
    extended = described["workflow_extended_info"]
    assert at(extended["run_expiration_time"]) == clock.now() + timedelta(hours=1)
    assert at(extended["execution_expiration_time"]) == clock.now() + timedelta(days=1)
    assert extended["cancel_requested"] is False
    assert [e["event_id"] for e in described["workflow_execution_history"]] == [1, 2]


# --- timeouts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "expected_execution", "expected_run", "expected_task"),
    [
        pytest.param({}, None, None, "10s", id="none"),
        pytest.param({"workflow_task_timeout": "500s"}, None, None, "120s", id="task-capped"),
        pytest.param({"workflow_task_timeout": "121s"}, None, None, "120s", id="task-121s"),
        pytest.param({"workflow_task_timeout": "120s"}, None, None, "120s", id="task-120s"),
        pytest.param(
            {"workflow_run_timeout": "5s", "workflow_task_timeout": "10s"},
            None,
            "5s",
            "5s",
            id="task-capped-to-run",
        ),
        pytest.param({"workflow_run_timeout": "5s"}, None, "5s", "5s", id="run-only"),
        pytest.param(
            {"workflow_execution_timeout": "100s"}, "100s", "100s", "10s", id="run-from-exec"
        ),
        pytest.param(
            {"workflow_execution_timeout": "100s", "workflow_run_timeout": "200s"},
            "100s",
            "100s",
            "10s",
            id="run-capped-to-exec",
        ),
        pytest.param({"workflow_execution_timeout": "3s"}, "3s", "3s", "3s", id="exec-3s"),
        pytest.param(
            {"workflow_task_timeout": "1.5s", "workflow_run_timeout": "90.25s"},
            None,
            "90.25s",
            "1.5s",
            id="fractional",
        ),
    ],
)
async def test_timeout_defaulting(
    client: httpx.AsyncClient,
    sent: dict[str, str],
    expected_execution: str | None,
    expected_run: str | None,
    expected_task: str,
) -> None:
    run_id = await start_ok(client, start_body("wf-timeouts", **sent))

    started, scheduled = await history(client, "wf-timeouts", run_id)
    started_attrs = attrs(started)
    assert started_attrs.get("workflow_execution_timeout") == expected_execution
    assert started_attrs.get("workflow_run_timeout") == expected_run
    assert started_attrs["workflow_task_timeout"] == expected_task
    assert attrs(scheduled)["start_to_close_timeout"] == expected_task

    config = (await describe(client, "wf-timeouts", run_id))["execution_config"]
    assert config["default_workflow_task_timeout"] == expected_task


# --- request_id idempotency ---------------------------------------------------------


async def test_same_request_id_returns_the_same_run(client: httpx.AsyncClient) -> None:
    body = start_body("wf-idem", request_id="req-1")
    first = await start(client, body)
    second = await start(client, body)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["started"] is True
    run_id = first.json()["run_id"]

    current = await describe(client, "wf-idem")
    assert current["execution_info"]["execution"]["run_id"] == run_id
    assert current["execution_info"]["history_length"] == 2
    assert len(await history(client, "wf-idem", run_id)) == 2


async def test_same_request_id_after_terminate_returns_the_closed_run(
    client: httpx.AsyncClient,
) -> None:
    body = start_body("wf-idem", request_id="req-1")
    run_id = await start_ok(client, body)
    await terminate(client, "wf-idem", run_id)

    again = await start(client, body)

    assert again.status_code == 200, again.text
    assert again.json() == {"run_id": run_id, "started": True}
    current = await describe(client, "wf-idem")
    assert current["execution_info"]["execution"]["run_id"] == run_id
    assert current["execution_info"]["status"] == "TERMINATED"


# --- duplicates, reuse and conflict policies ----------------------------------------


@pytest.mark.parametrize(
    "reuse", [None, "ALLOW_DUPLICATE", "ALLOW_DUPLICATE_FAILED_ONLY", "REJECT_DUPLICATE"]
)
async def test_duplicate_running_id_is_already_started(
    client: httpx.AsyncClient, reuse: str | None
) -> None:
    run_id = await start_ok(client, start_body("wf-dup", request_id="first"))
    extra = {"workflow_id_reuse_policy": reuse} if reuse else {}

    response = await start(client, start_body("wf-dup", request_id="second", **extra))

    error = assert_error(response, 409, "WORKFLOW_EXECUTION_ALREADY_STARTED")
    assert error["details"][0]["run_id"] == run_id
    assert error["details"][0]["start_request_id"] == "first"
    assert len(await history(client, "wf-dup", run_id)) == 2


@pytest.mark.parametrize(
    ("reuse", "allowed"),
    [
        pytest.param(None, True, id="unspecified"),
        pytest.param("ALLOW_DUPLICATE", True, id="allow-duplicate"),
        pytest.param("ALLOW_DUPLICATE_FAILED_ONLY", True, id="failed-only"),
        pytest.param(
            "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY", True, id="failed-only-proto"
        ),
        pytest.param("REJECT_DUPLICATE", False, id="reject-duplicate"),
        pytest.param("WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE", False, id="reject-proto"),
    ],
)
async def test_reuse_policy_after_terminate(
    client: httpx.AsyncClient, reuse: str | None, allowed: bool
) -> None:
    old_run = await start_ok(client, start_body("wf-reuse"))
    await terminate(client, "wf-reuse", old_run)
    extra = {"workflow_id_reuse_policy": reuse} if reuse else {}

    response = await start(client, start_body("wf-reuse", **extra))

    current = (await describe(client, "wf-reuse"))["execution_info"]
    if allowed:
        assert response.status_code == 200, response.text
        new_run = response.json()["run_id"]
        assert response.json()["started"] is True
        assert new_run != old_run
        assert current["execution"]["run_id"] == new_run
        assert current["status"] == "RUNNING"
        assert current["first_run_id"] == new_run
        started = attrs((await history(client, "wf-reuse", new_run))[0])
        assert started["first_execution_run_id"] == new_run
        assert started["original_execution_run_id"] == new_run
    else:
        error = assert_error(response, 409, "WORKFLOW_EXECUTION_ALREADY_STARTED")
        assert error["details"][0]["run_id"] == old_run
        assert current["execution"]["run_id"] == old_run
        assert current["status"] == "TERMINATED"


async def test_conflict_policy_use_existing_returns_running_run(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_ok(client, start_body("wf-conflict", request_id="r1"))

    response = await start(
        client,
        start_body("wf-conflict", request_id="r2", workflow_id_conflict_policy="USE_EXISTING"),
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"run_id": run_id, "started": False}
    assert len(await history(client, "wf-conflict", run_id)) == 2


async def test_conflict_policy_use_existing_after_close_starts_a_new_run(
    client: httpx.AsyncClient,
) -> None:
    old_run = await start_ok(client, start_body("wf-conflict"))
    await terminate(client, "wf-conflict", old_run)

    response = await start(
        client, start_body("wf-conflict", workflow_id_conflict_policy="USE_EXISTING")
    )

    assert response.status_code == 200, response.text
    assert response.json()["started"] is True
    assert response.json()["run_id"] != old_run


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param({"workflow_id_conflict_policy": "TERMINATE_EXISTING"}, id="conflict"),
        pytest.param(
            {"workflow_id_conflict_policy": "WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING"},
            id="conflict-proto",
        ),
        pytest.param({"workflow_id_reuse_policy": "TERMINATE_IF_RUNNING"}, id="reuse"),
    ],
)
async def test_terminate_existing_replaces_running_run(
    client: httpx.AsyncClient, clock: ManualClock, policy: dict[str, str]
) -> None:
    old_run = await start_ok(client, start_body("wf-replace", request_id="r1"))
    clock.advance(5)

    new_run = await start_ok(client, start_body("wf-replace", request_id="r2", **policy))

    assert new_run != old_run
    old = (await describe(client, "wf-replace", old_run))["execution_info"]
    assert old["status"] == "TERMINATED"
    assert at(old["close_time"]) == clock.now()
    old_events = await history(client, "wf-replace", old_run)
    assert [e["event_type"] for e in old_events] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_EXECUTION_TERMINATED",
    ]
    terminated = attrs(old_events[-1])
    assert terminated["reason"] == "TerminateIfRunning WorkflowIdReusePolicy"
    assert terminated["identity"] == "history-service"

    current = (await describe(client, "wf-replace"))["execution_info"]
    assert current["execution"]["run_id"] == new_run
    assert current["status"] == "RUNNING"
    new_events = await history(client, "wf-replace", new_run)
    assert [e["event_type"] for e in new_events] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert attrs(new_events[0])["first_execution_run_id"] == new_run


async def test_terminate_existing_names_the_new_run_in_details(
    client: httpx.AsyncClient,
) -> None:
    """Like Temporal, the replaced run's termination details name the new run."""
    old_run = await start_ok(client, start_body("wf-replace"))
    new_run = await start_ok(
        client, start_body("wf-replace", workflow_id_conflict_policy="TERMINATE_EXISTING")
    )

    terminated = attrs((await history(client, "wf-replace", old_run))[-1])

    message = f"terminated by new run {new_run}"
    assert terminated["reason"] == "TerminateIfRunning WorkflowIdReusePolicy"
    assert terminated["identity"] == "history-service"
    # One json/plain payload renders as its value here; Temporal's shorthand shows a list.
    assert terminated.get("details") in (message, [message])


async def test_terminate_existing_with_nothing_running_just_starts(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_ok(
        client, start_body("wf-fresh", workflow_id_conflict_policy="TERMINATE_EXISTING")
    )
    assert (await describe(client, "wf-fresh"))["execution_info"]["execution"]["run_id"] == run_id


@pytest.mark.parametrize(
    "policies",
    [
        pytest.param(
            {
                "workflow_id_reuse_policy": "TERMINATE_IF_RUNNING",
                "workflow_id_conflict_policy": "USE_EXISTING",
            },
            id="terminate-if-running+use-existing",
        ),
        pytest.param(
            {
                "workflow_id_reuse_policy": "TERMINATE_IF_RUNNING",
                "workflow_id_conflict_policy": "FAIL",
            },
            id="terminate-if-running+fail",
        ),
        pytest.param(
            {
                "workflow_id_reuse_policy": "TERMINATE_IF_RUNNING",
                "workflow_id_conflict_policy": "TERMINATE_EXISTING",
            },
            id="terminate-if-running+terminate-existing",
        ),
        pytest.param(
            {
                "workflow_id_reuse_policy": "REJECT_DUPLICATE",
                "workflow_id_conflict_policy": "TERMINATE_EXISTING",
            },
            id="reject-duplicate+terminate-existing",
        ),
    ],
)
@pytest.mark.parametrize("existing", [False, True])
async def test_invalid_policy_combinations(
    client: httpx.AsyncClient, policies: dict[str, str], existing: bool
) -> None:
    run_id = await start_ok(client, start_body("wf-policy")) if existing else ""

    response = await start(client, start_body("wf-policy", **policies))

    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "workflow_id_conflict_policy"
    if existing:
        info = (await describe(client, "wf-policy"))["execution_info"]
        assert info["execution"]["run_id"] == run_id
        assert info["status"] == "RUNNING"
    else:
        missing = await client.get(f"{WORKFLOWS}/wf-policy")
        assert_error(missing, 404, "WORKFLOW_EXECUTION_NOT_FOUND")


# --- retry policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        pytest.param({"backoff_coefficient": 0.5}, "retry_policy.backoff_coefficient", id="coef"),
        pytest.param(
            {"initial_interval": "10s", "maximum_interval": "5s"},
            "retry_policy.maximum_interval",
            id="max-below-initial",
        ),
        pytest.param(
            {"maximum_interval": "0.5s"},
            "retry_policy.maximum_interval",
            id="max-below-default-initial",
        ),
        pytest.param({"maximum_attempts": -1}, "retry_policy.maximum_attempts", id="attempts"),
    ],
)
async def test_invalid_retry_policy(
    client: httpx.AsyncClient, policy: dict[str, Any], field: str
) -> None:
    response = await start(client, start_body("wf-retry", retry_policy=policy))

    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == field
    assert_error(await client.get(f"{WORKFLOWS}/wf-retry"), 404, "WORKFLOW_EXECUTION_NOT_FOUND")


@pytest.mark.parametrize(
    ("policy", "stored"),
    [
        pytest.param(
            {"maximum_attempts": 3},
            {
                "initial_interval": "1s",
                "backoff_coefficient": 2.0,
                "maximum_interval": "100s",
                "maximum_attempts": 3,
            },
            id="defaults-filled",
        ),
        pytest.param(
            {},
            {"initial_interval": "1s", "backoff_coefficient": 2.0, "maximum_interval": "100s"},
            id="empty-policy-omits-zero-attempts",
        ),
        pytest.param(
            {
                "initial_interval": "2s",
                "backoff_coefficient": 3.0,
                "maximum_interval": "60s",
                "maximum_attempts": 5,
                "non_retryable_error_types": ["BadErr"],
            },
            {
                "initial_interval": "2s",
                "backoff_coefficient": 3.0,
                "maximum_interval": "60s",
                "maximum_attempts": 5,
                "non_retryable_error_types": ["BadErr"],
            },
            id="full",
        ),
    ],
)
async def test_retry_policy_is_stored_with_defaults(
    client: httpx.AsyncClient, policy: dict[str, Any], stored: dict[str, Any]
) -> None:
    run_id = await start_ok(client, start_body("wf-retry", retry_policy=policy))
    started = attrs((await history(client, "wf-retry", run_id))[0])
    assert started["retry_policy"] == stored


# --- cron and start delay -----------------------------------------------------------


async def test_cron_start_waits_for_the_first_slot(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    clock.advance(46.625)  # 00:00:46.625; the next */5 slot is 00:05:00, 253.375s away
    run_id = await start_ok(
        client,
        start_body("wf-cron", cron_schedule="*/5 * * * *", workflow_run_timeout="60s"),
    )

    events = await history(client, "wf-cron", run_id)
    assert [e["event_type"] for e in events] == ["WORKFLOW_EXECUTION_STARTED"]
    started = attrs(events[0])
    assert started["cron_schedule"] == "*/5 * * * *"
    assert started["initiator"] == "CRON_SCHEDULE"
    backoff_text = started["first_workflow_task_backoff"]
    assert backoff_text.endswith("s")
    backoff = float(backoff_text[:-1])
    assert backoff == int(backoff) > 0
    assert backoff == 254

    described = await describe(client, "wf-cron", run_id)
    assert described["pending_workflow_task"] is None
    info = described["execution_info"]
    assert info["status"] == "RUNNING"
    assert info["history_length"] == 1
    assert at(info["start_time"]) == clock.now()
    assert at(info["execution_time"]) == clock.now() + timedelta(seconds=backoff)
    run_expiration = described["workflow_extended_info"]["run_expiration_time"]
    assert at(run_expiration) == clock.now() + timedelta(seconds=backoff + 60)


async def test_cron_start_on_a_slot_waits_for_the_next_one(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    run_id = await start_ok(client, start_body("wf-cron", cron_schedule="*/5 * * * *"))
    started = attrs((await history(client, "wf-cron", run_id))[0])
    assert started["first_workflow_task_backoff"] == "300s"


@pytest.mark.parametrize("schedule", ["not a cron", "* * *", "61 * * * *", "@every 0s"])
async def test_invalid_cron_is_rejected(client: httpx.AsyncClient, schedule: str) -> None:
    response = await start(client, start_body("wf-cron", cron_schedule=schedule))
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "cron_schedule"


async def test_cron_with_start_delay_is_rejected(client: httpx.AsyncClient) -> None:
    response = await start(
        client,
        start_body("wf-cron", cron_schedule="*/5 * * * *", workflow_start_delay="30s"),
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "workflow_start_delay"


async def test_start_delay_without_cron(client: httpx.AsyncClient, clock: ManualClock) -> None:
    run_id = await start_ok(client, start_body("wf-delay", workflow_start_delay="30s"))

    events = await history(client, "wf-delay", run_id)
    assert [e["event_type"] for e in events] == ["WORKFLOW_EXECUTION_STARTED"]
    started = attrs(events[0])
    assert started["first_workflow_task_backoff"] == "30s"
    assert "initiator" not in started
    described = await describe(client, "wf-delay", run_id)
    assert described["pending_workflow_task"] is None
    assert at(described["execution_info"]["execution_time"]) == clock.now() + timedelta(seconds=30)


# --- request checks and describe ----------------------------------------------------


async def test_body_namespace_must_match_path(client: httpx.AsyncClient) -> None:
    response = await start(client, start_body("wf-ns", namespace="other"))
    error = assert_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"] == "namespace"
    assert_error(await client.get(f"{WORKFLOWS}/wf-ns"), 404, "WORKFLOW_EXECUTION_NOT_FOUND")


async def test_describe_current_run_without_run_id(client: httpx.AsyncClient) -> None:
    run_id = await start_ok(client, start_body("wf-current"))

    described = await describe(client, "wf-current")

    info = described["execution_info"]
    assert info["execution"] == {"workflow_id": "wf-current", "run_id": run_id}
    assert info["type"] == {"name": "OrderProcessingWorkflow"}
    assert info["task_queue"] == "order-processing-queue"
    assert info["first_run_id"] == run_id
    assert info["root_execution"] == {"workflow_id": "wf-current", "run_id": run_id}
    assert info["close_time"] is None
    assert [e["event_type"] for e in described["workflow_execution_history"]] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


@pytest.mark.parametrize("with_run", [False, True])
async def test_describe_unknown_workflow_is_not_found(
    client: httpx.AsyncClient, with_run: bool
) -> None:
    suffix = f"/runs/{uuid.uuid4()}" if with_run else ""
    response = await client.get(f"{WORKFLOWS}/no-such-workflow{suffix}")
    assert_error(response, 404, "WORKFLOW_EXECUTION_NOT_FOUND")


async def test_describe_unknown_run_of_known_workflow_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    await start_ok(client, start_body("wf-known"))
    response = await client.get(f"{WORKFLOWS}/wf-known/runs/{uuid.uuid4()}")
    assert_error(response, 404, "WORKFLOW_EXECUTION_NOT_FOUND")
