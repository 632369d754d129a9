"""Both doors state the same admission for the same operation. Each REST route's
operationId is its Temporal RPC name (app/routers/docs.py), and the OpenAPI document
names the route's permission (x-permission) and rate-limit budgets (x-rate-limits); an
RPC of the gRPC door with the same name must declare the same permission and the same
budgets, and scope the same task queue. RPCs whose REST operation has another name are
paired explicitly; those with no REST operation at all are listed, so that a new RPC
is either paired or listed here."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml

import app.grpc.server  # noqa: F401  (registers every RPC into the services)
from app.cli import openapi_yaml
from app.grpc.door import Rpc
from app.grpc.registry import OPERATOR_SERVICE, WORKFLOW_SERVICE

METHODS = {"get", "put", "post", "delete", "patch"}
CURRENT_RUN = "CurrentRun"  # the suffix of a REST twin serving a workflow's current run

# RPCs whose REST operation is named otherwise: the RPC, and the operation.
NAMED_OTHERWISE = {
    # REST's read of a run is Temporal's HTTP API's GetWorkflowExecution.
    "DescribeWorkflowExecution": "GetWorkflowExecution",
    # REST removes one attribute per call (DELETE …/search-attributes/{name}).
    "RemoveSearchAttributes": "RemoveSearchAttribute",
    # REST's cluster description (GET /api/v1/cluster).
    "GetClusterInfo": "DescribeCluster",
}
# RPCs with no REST operation, each with the REST operation whose permission it must
# still share (None: the RPC answers anyone).
WITHOUT_REST_TWIN: dict[str, str | None] = {
    # The SDK's connect; REST's nearest is /livez, which names no permission either.
    "GetSystemInfo": None,
    # Namespace-less in Temporal's API; REST lists one namespace's attributes.
    "GetSearchAttributes": "ListSearchAttributes",
    # REST reads history forwards only.
    "GetWorkflowExecutionHistoryReverse": "GetWorkflowExecutionHistory",
    # A worker leaving its queues: what a poller may do.
    "ShutdownWorker": "PollWorkflowTaskQueue",
    # Async activity completion by ids (REST answers by task token only).
    "RecordActivityTaskHeartbeatById": "RecordActivityTaskHeartbeat",
    "RespondActivityTaskCompletedById": "RespondActivityTaskCompleted",
    "RespondActivityTaskFailedById": "RespondActivityTaskFailed",
    "RespondActivityTaskCanceledById": "RespondActivityTaskCanceled",
}


@cache
def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId → (method, path, operation) of the live app's OpenAPI document."""
    document = yaml.safe_load(openapi_yaml())
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path, operation)
    return found


def rpcs() -> dict[str, Rpc]:
    served = {**WORKFLOW_SERVICE.rpcs}
    for name, rpc in OPERATOR_SERVICE.rpcs.items():
        assert name not in served, f"{name} is served by both services"
        served[name] = rpc
    return served


def twin(name: str) -> str | None:
    if name in operations():
        return name
    return NAMED_OTHERWISE.get(name)


def declared(rpc: Rpc) -> tuple[str | None, list[str]]:
    permission = rpc.permission.value if rpc.permission is not None else None
    return permission, [budget.value for budget in rpc.budgets]


def stated(operation: dict[str, Any]) -> tuple[str | None, list[str]]:
    return operation.get("x-permission"), list(operation.get("x-rate-limits", []))


PAIRED = sorted(name for name in rpcs() if twin(name) is not None)


def test_every_rpc_is_paired_with_its_rest_operation_or_listed_without_one() -> None:
    unpaired = {name for name in rpcs() if twin(name) is None}
    assert unpaired == set(WITHOUT_REST_TWIN)
    for name, operation_id in NAMED_OTHERWISE.items():
        assert name in rpcs(), f"{name} is no longer served: take it off NAMED_OTHERWISE"
        assert name not in operations(), f"REST now has {name}: take it off NAMED_OTHERWISE"
        assert operation_id in operations(), f"REST has no {operation_id}"
    for name in WITHOUT_REST_TWIN:
        assert name not in operations(), f"REST now has {name}: take it off the list"
    assert len(PAIRED) >= 20, PAIRED


@pytest.mark.parametrize("name", PAIRED)
def test_the_rpc_declares_its_rest_twins_permission_and_budgets(name: str) -> None:
    operation_id = twin(name)
    assert operation_id is not None
    method, path, operation = operations()[operation_id]
    assert declared(rpcs()[name]) == stated(operation), f"{name} vs {method} {path}"
    assert not operation.get("x-unmetered"), f"{method} {path} is unmetered; {name} is not"
    current_run = operations().get(operation_id + CURRENT_RUN)
    if current_run is not None:  # the route for the current run states the same
        assert stated(current_run[2]) == stated(operation)


@pytest.mark.parametrize("name", PAIRED)
def test_the_rpc_scopes_what_its_rest_twin_scopes(name: str) -> None:
    """REST's guard checks the namespace and the task queue its path names; the door
    checks the request's namespace field (when the path names one, the request must
    have one) and, for the RPCs it lists, the request's task queue."""
    operation_id = twin(name)
    assert operation_id is not None
    _, path, _ = operations()[operation_id]
    rpc = rpcs()[name]
    service = WORKFLOW_SERVICE if name in WORKFLOW_SERVICE.rpcs else OPERATOR_SERVICE
    request = getattr(service.messages, f"{name}Request").DESCRIPTOR
    if "{namespace}" in path:
        assert "namespace" in request.fields_by_name, f"{name} names no namespace"
    assert rpc.task_queue_scoped == ("{task_queue}" in path), (name, path)
    if rpc.task_queue_scoped:
        assert "task_queue" in request.fields_by_name


@pytest.mark.parametrize("name", sorted(WITHOUT_REST_TWIN))
def test_an_rpc_without_a_rest_twin_needs_its_kins_permission(name: str) -> None:
    rpc = rpcs()[name]
    kin = WITHOUT_REST_TWIN[name]
    if kin is None:
        assert (rpc.permission, rpc.budgets) == (None, ())
        return
    assert declared(rpc)[0] == stated(operations()[kin][2])[0], f"{name} vs {kin}"
