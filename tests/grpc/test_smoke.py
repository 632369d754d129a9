"""The official Python SDK's client connects and starts a workflow over gRPC."""

from __future__ import annotations

import pytest
from temporalio.exceptions import WorkflowAlreadyStartedError

from tests.grpc.conftest import GrpcGateway


async def test_connect_start_and_read_over_rest(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    handle = await client.start_workflow("MyWorkflow", {"a": 1}, id="wf-1", task_queue="q")
    response = await grpc_gateway.http.get("/api/v1/namespaces/default/workflows/wf-1/history")
    started = response.json()["history"][0]["workflow_execution_started_event_attributes"]
    assert started["input"] == {"a": 1}
    assert started["workflow_id"] == "wf-1"
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow("MyWorkflow", id="wf-1", task_queue="q")
    description = await handle.describe()
    assert description.workflow_type == "MyWorkflow"
