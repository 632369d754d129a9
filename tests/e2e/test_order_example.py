"""The order-processing example end to end: the real server (a child process), the example
worker (examples/order_processing, run in-process as an asyncio task) and the spec's
scenario driven over HTTP with the spec's own request bodies: start, query, signal,
result, history; and the same scenario driven by the official SDK's client over gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from bench.server import free_port
from examples.order_processing.worker import run_worker
from tests.e2e.server import ServerProcess

NS = "/api/v1/namespaces/default"
WORKFLOW_ID = "order-processing-12345"
QUEUE = "order-processing-queue"
DEADLINE_SECONDS = 30.0  # the whole scenario, once the server is up
HTTP_TIMEOUT = 40.0  # above the longest wait a request asks for (result: 30s)

# The spec's StartWorkflowExecution example request (api-reference.md), verbatim.
SPEC_START: dict[str, Any] = {
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
# The spec's SignalWorkflowExecution example request; its run_id is replaced by the real one.
SPEC_SIGNAL: dict[str, Any] = {
    "namespace": "default",
    "workflow_execution": {
        "workflow_id": "order-processing-12345",
        "run_id": "01234567-89ab-cdef-0123-456789abcdef",
    },
    "signal_name": "payment_received",
    "input": {
        "payment_id": "payment-98765",
        "amount": 59.98,
        "currency": "USD",
        "method": "credit_card",
    },
    "identity": "payment-service-v1.1.0",
    "request_id": "signal-request-12345",
}
# The spec's QueryWorkflow example request; its run_id is replaced by the real one.
SPEC_QUERY: dict[str, Any] = {
    "namespace": "default",
    "execution": {
        "workflow_id": "order-processing-12345",
        "run_id": "01234567-89ab-cdef-0123-456789abcdef",
    },
    "query": {"query_type": "get_order_status", "query_args": {}},
    "query_reject_condition": "NOT_OPEN",
}
ACTIVITIES = ["ProcessPayment", "UpdateInventory", "SendNotification"]
EXPECTED_RESULT = {
    "order_id": "12345",
    "payment_id": "payment-98765",
    "status": "COMPLETED",
    "receipt_id": "receipt-payment-98765",
    "amount": 59.98,
    "currency": "USD",
    "reservation_id": "reservation-12345",
    "notification_id": "notification-12345-customer-67890",
}


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = event[f"{event['event_type'].lower()}_event_attributes"]
    return value


def with_run_id(body: dict[str, Any], key: str, run_id: str) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    copied[key]["run_id"] = run_id
    return copied


async def call(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await http.request(method, f"{NS}{path}", **kwargs)
    assert response.status_code == 200, f"{method} {path}: {response.text}"
    return response.json()


async def scenario(http: httpx.AsyncClient) -> None:
    started = await call(http, "POST", "/workflows", json=SPEC_START)
    assert started["started"] is True
    run_id: str = started["run_id"]
    run = f"/workflows/{WORKFLOW_ID}/runs/{run_id}"

    # Waiting for the payment: the query is answered from the replayed history (riding
    # on the first workflow task, or as a query task if that task is already done).
    query = with_run_id(SPEC_QUERY, "execution", run_id)
    status = await call(http, "POST", f"{run}/query", json=query)
    assert status == {
        "query_result": {"order_id": "12345", "status": "WAITING_FOR_PAYMENT", "payment_id": None}
    }

    signal = with_run_id(SPEC_SIGNAL, "workflow_execution", run_id)
    assert await call(http, "POST", f"{run}/signal", json=signal) == {}

    outcome = await call(
        http, "GET", f"/workflows/{WORKFLOW_ID}/result", params={"wait_timeout": "30s"}
    )
    assert outcome["run_id"] == run_id, outcome
    assert outcome["status"] == "COMPLETED", outcome
    assert outcome["result"] == EXPECTED_RESULT

    # A closed run: the spec's query (NOT_OPEN) is rejected; without a reject condition
    # it goes to the worker as a query task and replays to COMPLETED.
    assert await call(http, "POST", f"{run}/query", json=query) == {
        "query_rejected": {"status": "COMPLETED"}
    }
    query.pop("query_reject_condition")
    final = await call(http, "POST", f"{run}/query", json=query)
    assert final["query_result"]["status"] == "COMPLETED", final

    page = await call(http, "GET", f"{run}/history")
    assert page["next_page_token"] == ""
    check_history(page["history"])


def check_history(history: list[dict[str, Any]]) -> None:
    types = [e["event_type"] for e in history]
    assert [e["event_id"] for e in history] == list(range(1, len(history) + 1))
    assert types[0] == "WORKFLOW_EXECUTION_STARTED"
    assert types[-1] == "WORKFLOW_EXECUTION_COMPLETED", types
    assert attributes(history[-1])["result"] == EXPECTED_RESULT
    assert types.count("WORKFLOW_EXECUTION_SIGNALED") == 1, types
    signaled = attributes(history[types.index("WORKFLOW_EXECUTION_SIGNALED")])
    assert signaled["signal_name"] == "payment_received"
    assert signaled["input"] == SPEC_SIGNAL["input"]

    # The three activities, one after another, each scheduled only after the signal.
    activity_events = [e for e in history if e["event_type"].startswith("ACTIVITY_TASK_")]
    assert [e["event_type"] for e in activity_events] == [
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
    ] * len(ACTIVITIES), types
    assert activity_events[0]["event_id"] > types.index("WORKFLOW_EXECUTION_SIGNALED") + 1
    scheduled = activity_events[0::3]
    assert [attributes(e)["activity_type"]["name"] for e in scheduled] == ACTIVITIES
    for event in scheduled:
        assert attributes(event)["start_to_close_timeout"], event
        assert attributes(event)["retry_policy"]["maximum_attempts"] == 5, event
    for started, completed, scheduled_event in zip(
        activity_events[1::3], activity_events[2::3], scheduled, strict=True
    ):
        assert attributes(started)["scheduled_event_id"] == scheduled_event["event_id"]
        assert attributes(started)["attempt"] == 1
        assert attributes(completed)["scheduled_event_id"] == scheduled_event["event_id"]
    receipt = attributes(activity_events[2])["result"]
    assert receipt["receipt_id"] == "receipt-payment-98765"


@pytest.mark.slow
async def test_the_spec_order_scenario_on_the_example_worker(
    database_url: str, tmp_path: Path
) -> None:
    async with ServerProcess(database_url, tmp_path) as server:
        worker = asyncio.create_task(
            run_worker(server.base_url, "default", QUEUE, identity="example-worker")
        )
        try:
            async with (
                httpx.AsyncClient(base_url=server.base_url, timeout=HTTP_TIMEOUT) as http,
                asyncio.timeout(DEADLINE_SECONDS),
            ):
                await scenario(http)
            assert not worker.done(), worker  # the worker ran all along
        except BaseException:
            print(server.logs())  # shown by pytest with the failure
            raise
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def sdk_scenario(client: Client, http: httpx.AsyncClient) -> None:
    """The same scenario through the official Python SDK's client over gRPC, the
    workflow run by the same HTTP worker."""
    handle = await client.start_workflow(
        "OrderProcessingWorkflow",
        SPEC_START["input"],
        id=WORKFLOW_ID,
        task_queue=QUEUE,
        execution_timeout=timedelta(days=1),
        run_timeout=timedelta(hours=1),
    )
    status = await handle.query("get_order_status")
    assert status == {"order_id": "12345", "status": "WAITING_FOR_PAYMENT", "payment_id": None}
    await handle.signal("payment_received", SPEC_SIGNAL["input"])
    assert await handle.result() == EXPECTED_RESULT
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    page = await call(http, "GET", f"/workflows/{WORKFLOW_ID}/history")
    check_history(page["history"])


@pytest.mark.slow
async def test_the_order_scenario_through_the_sdk_client(database_url: str, tmp_path: Path) -> None:
    grpc_port = free_port()
    async with ServerProcess(database_url, tmp_path, {"grpc_port": str(grpc_port)}) as server:
        worker = asyncio.create_task(
            run_worker(server.base_url, "default", QUEUE, identity="example-worker")
        )
        try:
            client = await Client.connect(f"127.0.0.1:{grpc_port}")
            async with (
                httpx.AsyncClient(base_url=server.base_url, timeout=HTTP_TIMEOUT) as http,
                asyncio.timeout(DEADLINE_SECONDS),
            ):
                await sdk_scenario(client, http)
            assert not worker.done(), worker
        except BaseException:
            print(server.logs())
            raise
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
