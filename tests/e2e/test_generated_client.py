"""A Python client generated from the committed openapi.yaml (openapi-python-client, as a
user of the API would make one) runs the README's walk against a real server: register
and describe a namespace, start, signal, describe and page the order workflow, work it
as a worker (workflow task, activity with a heartbeat, workflow task again), read its
result and close event, then cancel and terminate a second workflow. The operations are
called by their RPC names (api.workflows.start_workflow_execution, ...)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "gateway_client"
GENERATE_TIMEOUT_SECONDS = 120
NS = "default"
WORKFLOW = "order-processing-12345"
QUEUE = "order-processing-queue"
# The README walk's request bodies (the API reference's examples).
REGISTER = {
    "namespace": "order-processing",
    "description": "Namespace for order processing workflows",
    "owner_email": "team-orders@company.com",
    "workflow_execution_retention_period": "2592000s",
    "data": {"environment": "production", "team": "orders", "cost_center": "engineering"},
    "is_global_namespace": False,
    "history_archival_config": {
        "state": "ENABLED",
        "uri": "s3://temporal-archival/order-processing/history",
    },
}
START = {
    "namespace": NS,
    "workflow_id": WORKFLOW,
    "workflow_type": {"name": "OrderProcessingWorkflow"},
    # The README sends the queue's name as a string, which the gateway also takes; the
    # document declares the TaskQueue object, so a generated client sends that.
    "task_queue": {"name": QUEUE},
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
    "retry_policy": {"initial_interval": "1s", "backoff_coefficient": 2.0, "maximum_attempts": 3},
    "memo": {"fields": {"environment": {"data": "production"}}},
    "search_attributes": {"indexed_fields": {"OrderId": {"data": "12345"}}},
}
SIGNAL = {
    "signal_name": "payment_received",
    "input": {"payment_id": "payment-98765", "amount": 59.98, "currency": "USD"},
    "identity": "payment-service-v1.1.0",
    "request_id": "signal-request-12345",
}
SCHEDULE = {
    "command_type": "SCHEDULE_ACTIVITY_TASK",
    "schedule_activity_task_command_attributes": {
        "activity_id": "charge",
        "activity_type": {"name": "ProcessPayment"},
        "input": {"amount": 59.98},
        "start_to_close_timeout": "30s",
        "retry_policy": {"maximum_attempts": 5},
    },
}
RESULT = {"order_id": "12345", "status": "completed"}
COMPLETE = {
    "command_type": "COMPLETE_WORKFLOW_EXECUTION",
    "complete_workflow_execution_command_attributes": {"result": RESULT},
}


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[ModuleType]:
    """The client generated from openapi.yaml into tmp_path, imported."""
    try:
        importlib.import_module("openapi_python_client")
    except ImportError:
        reason = "openapi-python-client is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    output = tmp_path / PACKAGE
    tools = str(Path(sys.executable).parent)  # the generator formats with ruff
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    generated = subprocess.run(
        [*command, "--path", str(ROOT / "openapi.yaml"), "--output-path", str(output)],
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT_SECONDS,
        env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Walk:
    """Calls an operation of the generated client by its RPC name and checks the answer
    is its success model, not the error envelope."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.client = package.Client(
            base_url=base_url, timeout=60.0, raise_on_unexpected_status=True
        )

    def model(self, name: str, body: dict[str, Any]) -> Any:
        module = importlib.import_module(f"{PACKAGE}.models")
        return getattr(module, name).from_dict(body)

    async def call(self, tag: str, operation: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
        response = await module.asyncio_detailed(*args, client=self.client, **kwargs)
        assert 200 <= response.status_code < 300, (operation, response.content[:2000])
        errors = importlib.import_module(f"{PACKAGE}.models").ErrorResponse
        assert not isinstance(response.parsed, errors), (operation, response.content[:2000])
        answer: dict[str, Any] = response.parsed.to_dict()
        return answer


@pytest.mark.slow
async def test_a_generated_client_runs_the_readme_walk(
    client_package: ModuleType, database_url: str, tmp_path: Path
) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        walk = Walk(client_package, server.base_url)
        body = walk.model

        await walk.call(
            "namespaces",
            "register_namespace",
            body=body("RegisterNamespaceRequest", REGISTER),
        )
        described = await walk.call("namespaces", "describe_namespace", "order-processing")
        assert described["namespace_info"]["name"] == "order-processing"
        listed = await walk.call("namespaces", "list_namespaces", page_size=10)
        assert "order-processing" in [n["namespace_info"]["name"] for n in listed["namespaces"]]

        started = await walk.call(
            "workflows",
            "start_workflow_execution",
            NS,
            body=body("StartWorkflowExecutionRequest", START),
        )
        assert started["started"] is True
        run_id = started["run_id"]
        current = await walk.call("workflows", "get_workflow_execution_current_run", NS, WORKFLOW)
        assert current["execution_info"]["execution"]["run_id"] == run_id
        await walk.call(
            "workflows",
            "signal_workflow_execution",
            NS,
            WORKFLOW,
            run_id,
            body=body("SignalWorkflowExecutionRequest", SIGNAL),
        )
        await walk.call("workflows", "get_workflow_execution", NS, WORKFLOW, run_id)
        page = await walk.call(
            "workflows",
            "get_workflow_execution_history",
            NS,
            WORKFLOW,
            run_id,
            maximum_page_size=2,
        )
        assert len(page["history"]) == 2 and page["next_page_token"]

        poll = body("PollTaskQueueRequest", {"identity": "worker-1", "wait_timeout": "10s"})
        task = await walk.call("worker", "poll_workflow_task_queue", NS, QUEUE, body=poll)
        assert "WORKFLOW_EXECUTION_SIGNALED" in [e["event_type"] for e in task["history"]]
        answer = {"task_token": task["task_token"], "identity": "worker-1", "commands": [SCHEDULE]}
        await walk.call(
            "worker",
            "respond_workflow_task_completed",
            NS,
            body=body("RespondWorkflowTaskCompletedRequest", answer),
        )
        activity = await walk.call("worker", "poll_activity_task_queue", NS, QUEUE, body=poll)
        token = activity["task_token"]
        beat = await walk.call(
            "worker",
            "record_activity_task_heartbeat",
            NS,
            body=body(
                "RecordActivityTaskHeartbeatRequest",
                {"task_token": token, "details": {"progress": 50}},
            ),
        )
        assert beat["cancel_requested"] is False
        await walk.call(
            "worker",
            "respond_activity_task_completed",
            NS,
            body=body(
                "RespondActivityTaskCompletedRequest",
                {"task_token": token, "result": {"payment_id": "payment-98765"}},
            ),
        )
        task = await walk.call("worker", "poll_workflow_task_queue", NS, QUEUE, body=poll)
        answer = {"task_token": task["task_token"], "identity": "worker-1", "commands": [COMPLETE]}
        await walk.call(
            "worker",
            "respond_workflow_task_completed",
            NS,
            body=body("RespondWorkflowTaskCompletedRequest", answer),
        )

        result = await walk.call(
            "workflows", "get_workflow_result_current_run", NS, WORKFLOW, wait_timeout="30s"
        )
        assert (result["status"], result["result"]) == ("COMPLETED", RESULT)
        filter_type = importlib.import_module(f"{PACKAGE}.models").HistoryEventFilterType
        closing = await walk.call(
            "workflows",
            "get_workflow_execution_history_current_run",
            NS,
            WORKFLOW,
            wait_new_event=True,
            history_event_filter_type=filter_type("CLOSE_EVENT"),
        )
        assert [e["event_type"] for e in closing["history"]] == ["WORKFLOW_EXECUTION_COMPLETED"]

        second = {"workflow_id": "order-processing-67890", "workflow_type": {"name": "Order"}}
        second |= {"task_queue": {"name": QUEUE}, "input": {"order_id": "67890"}}
        await walk.call(
            "workflows",
            "start_workflow_execution",
            NS,
            body=body("StartWorkflowExecutionRequest", second),
        )
        reason = {"reason": "customer cancelled", "identity": "ops"}
        await walk.call(
            "workflows",
            "request_cancel_workflow_execution_current_run",
            NS,
            "order-processing-67890",
            body=body("RequestCancelWorkflowExecutionRequest", reason),
        )
        await walk.call(
            "workflows",
            "terminate_workflow_execution_current_run",
            NS,
            "order-processing-67890",
            body=body("TerminateWorkflowExecutionRequest", {"reason": "test over"}),
        )
        ended = await walk.call(
            "workflows", "get_workflow_result_current_run", NS, "order-processing-67890"
        )
        assert ended["status"] == "TERMINATED"
