"""Every domain error reaches the SDKs as Temporal's own would: a status code the SDK
does not retry, and in ``grpc-status-details-bin`` the typed errordetails message it
unpacks (WorkflowAlreadyStartedError with the run id, WorkflowQueryFailedError, ...).
The table's codes and details are those Temporal's dev server answered for the same
requests (Temporal 1.32, checked with `temporal server start-dev` and this SDK).
Beyond the table: the mapping of every ErrorCode, an unexpected failure (INTERNAL,
never a traceback), an unregistered method (grpcio's UNIMPLEMENTED, which the SDK
tolerates) and connecting."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc import status_pb2
from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.enums.v1 import failed_cause_pb2, namespace_pb2
from temporalio.api.errordetails.v1 import message_pb2 as details
from temporalio.api.operatorservice.v1 import request_response_pb2 as operator
from temporalio.api.query.v1 import message_pb2 as query_messages
from temporalio.api.taskqueue.v1 import message_pb2 as taskqueue
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode, WorkflowService

from app.errors import ApiError, ErrorCode
from app.grpc.errors import STATUS, status_of
from app.services import descriptions
from tests.api.worker_client import NS, Worker
from tests.conftest import wait_until
from tests.grpc.conftest import GrpcGateway

QUEUE = "grpc-queue"
TIMEOUT = timedelta(seconds=30)  # bounds only a broken test: no call waits on it

M = TypeVar("M", bound=Message)


# --- requests and what the answers carry ---------------------------------------------


def start_request(
    namespace: str = "default", workflow_id: str | None = None
) -> wf.StartWorkflowExecutionRequest:
    """A start of a new workflow id (or of ``workflow_id``), with a request id."""
    return wf.StartWorkflowExecutionRequest(
        namespace=namespace,
        workflow_id=f"wf-{uuid.uuid4().hex[:8]}" if workflow_id is None else workflow_id,
        workflow_type=common.WorkflowType(name="GrpcWorkflow"),
        task_queue=taskqueue.TaskQueue(name=QUEUE),
        request_id=str(uuid.uuid4()),
    )


def execution(workflow_id: str) -> common.WorkflowExecution:
    return common.WorkflowExecution(workflow_id=workflow_id)


async def rpc_error(call: Awaitable[Any]) -> RPCError:
    with pytest.raises(RPCError) as caught:
        await call
    return caught.value


def detail(error: RPCError, kind: type[M]) -> M:
    """The typed errordetails message the SDK unpacks: the status's first detail."""
    found = error.grpc_status.details
    assert found, f"{error.status.name} {error.message!r} carries no detail"
    message = kind()
    assert found[0].Unpack(message), f"the detail is {found[0].type_url}, not {kind.__name__}"
    return message


# The codes sdk-core retries (its retry list); the SDK also never retries CANCELLED or
# DEADLINE_EXCEEDED on its own calls. A domain error must answer with none of them.
RETRIED = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.OUT_OF_RANGE,
}
# The codes that mean "try again": each maps to the standard code of its name, which
# the SDK retries. Every other code is a domain error.
TRANSIENT = {
    ErrorCode.INTERNAL,
    ErrorCode.UNAVAILABLE,
    ErrorCode.RESOURCE_EXHAUSTED,
    ErrorCode.ABORTED,
    ErrorCode.DATA_LOSS,
    ErrorCode.OUT_OF_RANGE,
}


@dataclass
class World:
    """A gateway (authentication off), its SDK client, a running workflow and one whose
    only run was terminated."""

    gateway: GrpcGateway
    client: Client
    running_run_id: str
    closed_run_id: str

    @property
    def service(self) -> WorkflowService:
        return self.client.workflow_service


@pytest.fixture
async def world(grpc_gateway: GrpcGateway) -> AsyncIterator[World]:
    client = await grpc_gateway.client()
    running = await client.start_workflow("ErrorWorkflow", id="running", task_queue="q")
    closed = await client.start_workflow("ErrorWorkflow", id="closed", task_queue="q")
    await closed.terminate("done")
    assert running.result_run_id and closed.result_run_id
    yield World(grpc_gateway, client, running.result_run_id, closed.result_run_id)


Call = Callable[[World], Coroutine[Any, Any, Any]]


def _start(namespace: str = "default", workflow_id: str | None = None) -> Call:
    async def call(world: World) -> Any:
        return await world.service.start_workflow_execution(
            start_request(namespace, workflow_id), timeout=TIMEOUT
        )

    return call


def _signal(
    workflow_id: str, run_id: str = "", namespace: str = "default", name: str = "s"
) -> Call:
    async def call(world: World) -> Any:
        request = wf.SignalWorkflowExecutionRequest(
            namespace=namespace,
            workflow_execution=common.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            signal_name=name,
        )
        return await world.service.signal_workflow_execution(request, timeout=TIMEOUT)

    return call


async def _closed_run(world: World) -> Any:
    return await _signal("closed", world.closed_run_id)(world)


def _terminate(workflow_id: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=execution(workflow_id)
        )
        return await world.service.terminate_workflow_execution(request, timeout=TIMEOUT)

    return call


def _describe(workflow_id: str, run_id: str = "") -> Call:
    async def call(world: World) -> Any:
        request = wf.DescribeWorkflowExecutionRequest(
            namespace="default",
            execution=common.WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        )
        return await world.service.describe_workflow_execution(request, timeout=TIMEOUT)

    return call


def _history(workflow_id: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.GetWorkflowExecutionHistoryRequest(
            namespace="default", execution=execution(workflow_id)
        )
        return await world.service.get_workflow_execution_history(request, timeout=TIMEOUT)

    return call


def _describe_namespace(namespace: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.DescribeNamespaceRequest(namespace=namespace)
        return await world.service.describe_namespace(request, timeout=TIMEOUT)

    return call


def _register(namespace: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
        return await world.service.register_namespace(request, timeout=TIMEOUT)

    return call


def _list(query: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.ListWorkflowExecutionsRequest(namespace="default", query=query)
        return await world.service.list_workflow_executions(request, timeout=TIMEOUT)

    return call


def _count(query: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.CountWorkflowExecutionsRequest(namespace="default", query=query)
        return await world.service.count_workflow_executions(request, timeout=TIMEOUT)

    return call


def _query(workflow_id: str) -> Call:
    async def call(world: World) -> Any:
        request = wf.QueryWorkflowRequest(
            namespace="default",
            execution=execution(workflow_id),
            query=query_messages.WorkflowQuery(query_type="status"),
        )
        return await world.service.query_workflow(request, timeout=TIMEOUT)

    return call


async def _start_in_deprecated_namespace(world: World) -> Any:
    http = world.gateway.http
    body = {"namespace": "old", "workflow_execution_retention_period": "86400s"}
    assert (await http.post("/api/v1/namespaces", json=body)).status_code == 200
    deprecate = {"update_info": {"state": "DEPRECATED"}}
    assert (await http.post("/api/v1/namespaces/old/update", json=deprecate)).status_code == 200
    return await _start("old")(world)


@dataclass(frozen=True)
class Row:
    call: Call
    status: RPCStatusCode
    detail: type[Message] | None  # the first detail's type; None: no detail
    mentions: str = ""  # what the message names
    check: Callable[[World, Any], None] = lambda world, found: None


def _already_started(world: World, found: Any) -> None:
    assert found.run_id == world.running_run_id
    assert found.first_execution_run_id == world.running_run_id
    assert found.start_request_id


def _namespace_named(name: str) -> Callable[[World, Any], None]:
    def check(world: World, found: Any) -> None:
        assert found.namespace == name

    return check


def _invalid_state(world: World, found: Any) -> None:
    assert found.namespace == "old"
    assert found.state == namespace_pb2.NAMESPACE_STATE_DEPRECATED
    assert list(found.allowed_states) == [namespace_pb2.NAMESPACE_STATE_REGISTERED]


NOT_FOUND = RPCStatusCode.NOT_FOUND
INVALID = RPCStatusCode.INVALID_ARGUMENT

ROWS = {
    "start-already-started": Row(
        _start(workflow_id="running"),
        RPCStatusCode.ALREADY_EXISTS,
        details.WorkflowExecutionAlreadyStartedFailure,
        "already running",
        _already_started,
    ),
    "start-in-unknown-namespace": Row(
        _start("nope"),
        NOT_FOUND,
        details.NamespaceNotFoundFailure,
        "nope",
        _namespace_named("nope"),
    ),
    "signal-in-unknown-namespace": Row(
        _signal("running", namespace="nope"), NOT_FOUND, details.NamespaceNotFoundFailure, "nope"
    ),
    "describe-unknown-namespace": Row(
        _describe_namespace("nope"), NOT_FOUND, details.NamespaceNotFoundFailure, "nope"
    ),
    "describe-unknown-workflow": Row(
        _describe("nobody"), NOT_FOUND, details.NotFoundFailure, "nobody"
    ),
    "describe-unknown-run": Row(
        _describe("running", "5f6e1a52-3c1b-4d0e-9d4e-0c0d7a8e9f10"),
        NOT_FOUND,
        details.NotFoundFailure,
        "running",
    ),
    "signal-unknown-workflow": Row(_signal("nobody"), NOT_FOUND, details.NotFoundFailure),
    "history-of-unknown-workflow": Row(_history("nobody"), NOT_FOUND, details.NotFoundFailure),
    "terminate-unknown-workflow": Row(_terminate("nobody"), NOT_FOUND, details.NotFoundFailure),
    "unknown-workflow-id-not-ascii": Row(
        _describe("commande-é-✓"), NOT_FOUND, details.NotFoundFailure, "commande-é-✓"
    ),
    # Temporal: NotFound "workflow execution already completed", with NotFoundFailure.
    "signal-closed-run": Row(
        _signal("closed"), NOT_FOUND, details.NotFoundFailure, "already completed"
    ),
    "signal-closed-run-by-run-id": Row(
        _closed_run, NOT_FOUND, details.NotFoundFailure, "already completed"
    ),
    "terminate-closed-run": Row(
        _terminate("closed"), NOT_FOUND, details.NotFoundFailure, "already completed"
    ),
    "register-existing-namespace": Row(
        _register("default"),
        RPCStatusCode.ALREADY_EXISTS,
        details.NamespaceAlreadyExistsFailure,
        "already exists",
    ),
    # Bad arguments: INVALID_ARGUMENT with no detail, as Temporal.
    "start-with-empty-workflow-id": Row(_start(workflow_id=""), INVALID, None, "workflow_id"),
    "start-with-blank-workflow-id": Row(_start(workflow_id=" "), INVALID, None, "workflow_id"),
    "signal-with-empty-signal-name": Row(_signal("running", name=""), INVALID, None, "signal_name"),
    "describe-with-malformed-run-id": Row(
        _describe("running", "not-a-uuid"), INVALID, None, "run_id"
    ),
    "list-with-malformed-query": Row(_list("WorkflowId = "), INVALID, None, "position"),
    "count-with-unknown-attribute": Row(_count("Bogus = 'x'"), INVALID, None, "Bogus"),
    # Temporal: FailedPrecondition with WorkflowNotReadyFailure.
    "query-closed-before-its-first-task": Row(
        _query("closed"), RPCStatusCode.FAILED_PRECONDITION, details.WorkflowNotReadyFailure
    ),
    "start-in-deprecated-namespace": Row(
        _start_in_deprecated_namespace,
        RPCStatusCode.FAILED_PRECONDITION,
        details.NamespaceInvalidStateFailure,
        "DEPRECATED",
        _invalid_state,
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_a_domain_error_is_its_status_with_its_typed_detail(world: World, row: Row) -> None:
    error = await rpc_error(row.call(world))
    assert error.status == row.status, (error.status, error.message)
    assert row.mentions in error.message, error.message
    if row.detail is None:
        assert not error.grpc_status.details, error.grpc_status.details
        return
    found = detail(error, row.detail)
    row.check(world, found)
    assert len(error.grpc_status.details) == 1
    assert error.grpc_status.code == error.status.value
    assert error.grpc_status.message == error.message


async def test_a_cancel_request_to_a_closed_run_is_accepted(world: World) -> None:
    """As Temporal (it answers OK): nothing to cancel is not an error."""
    request = wf.RequestCancelWorkflowExecutionRequest(
        namespace="default", workflow_execution=execution("closed")
    )
    await world.service.request_cancel_workflow_execution(request, timeout=TIMEOUT)


async def test_the_sdk_raises_workflow_already_started_with_the_run_id(world: World) -> None:
    with pytest.raises(WorkflowAlreadyStartedError) as caught:
        await world.client.start_workflow("ErrorWorkflow", id="running", task_queue="q")
    assert caught.value.run_id == world.running_run_id
    assert caught.value.workflow_id == "running"


async def test_a_failed_query_is_invalid_argument_and_the_sdks_query_failed_error(
    world: World,
) -> None:
    """A worker that fails a query: INVALID_ARGUMENT with QueryFailedFailure, the message
    the worker's own (Temporal's message is the failure's, and the SDK raises it as
    WorkflowQueryFailedError). The worker here is REST's."""
    gateway = world.gateway
    worker = Worker(gateway.http, gateway.clock, gateway.app)
    await worker.start("asked")
    task = await worker.workflow_task()
    assert (await worker.complete_workflow_task(task["task_token"])).status_code == 200

    async def fail_the_next_query(message: str) -> None:
        await wait_until(lambda: gateway.clock.pending_waits() == 1)
        query_task = await worker.workflow_task()
        assert query_task["query"]["query_type"] == "status"
        answered = await gateway.http.post(
            f"{NS}/query-tasks/complete",
            json={
                "task_token": query_task["task_token"],
                "completed_type": "FAILED",
                "error_message": message,
            },
        )
        assert answered.status_code == 200, answered.text

    failing = asyncio.create_task(fail_the_next_query("no handler for 'status'"))
    error = await rpc_error(_query("asked")(world))
    await failing
    assert error.status == RPCStatusCode.INVALID_ARGUMENT
    assert error.message == "no handler for 'status'"
    assert detail(error, details.QueryFailedFailure).failure.message == "no handler for 'status'"

    failing = asyncio.create_task(fail_the_next_query("query blew up"))
    with pytest.raises(WorkflowQueryFailedError) as caught:
        await world.client.get_workflow_handle("asked").query("status")
    await failing
    assert caught.value.message == "query blew up"


async def test_too_many_waiting_queries_are_a_busy_workflow(world: World) -> None:
    """Ten queries may wait for a workflow's next task; the eleventh is
    RESOURCE_EXHAUSTED with cause BUSY_WORKFLOW (the SDK retries it, as Temporal's)."""
    clock = world.gateway.clock
    asking = [asyncio.create_task(_query("running")(world)) for _ in range(10)]
    await wait_until(lambda: clock.pending_waits() == 10)
    error = await rpc_error(_query("running")(world))
    assert error.status == RPCStatusCode.RESOURCE_EXHAUSTED
    found = detail(error, details.ResourceExhaustedFailure)
    assert found.cause == failed_cause_pb2.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW
    assert found.scope == failed_cause_pb2.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE
    clock.advance(world.gateway.app.state.ctx.settings.query_timeout_seconds + 1)
    for waiting in asking:  # no worker answered: each gives up
        assert (await rpc_error(waiting)).status == RPCStatusCode.FAILED_PRECONDITION


async def test_an_unexpected_failure_is_internal_with_a_correlation_id(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug is INTERNAL (which the SDK retries, as Temporal's), its message a
    correlation id and nothing of the exception; the log has the traceback once."""

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(descriptions, "describe_workflow", broken)
    with caplog.at_level(logging.ERROR):
        error = await rpc_error(_describe("running")(world))
    assert error.status == RPCStatusCode.INTERNAL
    assert "correlation id" in error.message
    assert "secret internals" not in error.message
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
    assert record.getMessage().split()[2] in error.message  # the same correlation id
    assert "DescribeWorkflowExecution" in record.getMessage()


async def test_an_unregistered_method_is_grpcios_unimplemented(world: World) -> None:
    """grpcio's own "Method not found!": the message sdk-core tolerates where it may
    (it lower-cases it and looks for "method not found")."""
    request = wf.UpdateWorkflowExecutionRequest(namespace="default")
    error = await rpc_error(world.service.update_workflow_execution(request, timeout=TIMEOUT))
    assert error.status == RPCStatusCode.UNIMPLEMENTED
    assert "method not found" in error.message.lower()


async def test_the_sdk_connects(grpc_gateway: GrpcGateway) -> None:
    """Client.connect is one GetSystemInfo; it answers with the gateway's version."""
    client = await grpc_gateway.client()
    info = await client.workflow_service.get_system_info(wf.GetSystemInfoRequest())
    assert info.server_version
    assert info.capabilities.upsert_memo
    assert info.capabilities.activity_failure_include_heartbeat


@pytest.mark.parametrize("code", list(ErrorCode), ids=[c.value for c in ErrorCode])
def test_every_error_code_has_a_status_the_sdk_reads_rightly(code: ErrorCode) -> None:
    """Never UNKNOWN (what grpcio makes of an exception, which the SDK retries); a
    domain error never INTERNAL nor any code the SDK retries; the status travels
    whole in grpc-status-details-bin."""
    status, message, trailers = status_of(ApiError(code, f"{code.value} happened"))
    assert status is STATUS[code]
    assert status is not grpc.StatusCode.UNKNOWN
    if code is not ErrorCode.INTERNAL:
        assert status is not grpc.StatusCode.INTERNAL
    if code not in TRANSIENT:
        assert status not in RETRIED, f"{code} would be retried by the SDK as {status}"
    [(key, value)] = trailers
    assert key == "grpc-status-details-bin"
    carried = status_pb2.Status.FromString(value)
    assert (carried.code, carried.message) == (status.value[0], message)


async def test_an_empty_namespace_is_invalid_argument(grpc_gateway: GrpcGateway) -> None:
    """As Temporal: "Namespace is empty." (not a namespace named "" that is not found)."""
    client = await grpc_gateway.client()
    request = wf.DescribeWorkflowExecutionRequest(
        namespace="", execution=common.WorkflowExecution(workflow_id="w")
    )
    with pytest.raises(RPCError) as raised:
        await client.workflow_service.describe_workflow_execution(request)
    assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert raised.value.message == "Namespace is empty."


@pytest.mark.parametrize("workflow_id", ["nul\x00inside", "x" * 1001])
async def test_a_workflow_id_rest_would_refuse_is_invalid_argument(
    grpc_gateway: GrpcGateway, workflow_id: str
) -> None:
    """Checked as REST checks its path (no NUL, which PostgreSQL cannot store; at most
    1,000 characters), not left to fail in the database."""
    client = await grpc_gateway.client()
    request = wf.SignalWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=common.WorkflowExecution(workflow_id=workflow_id),
        signal_name="s",
    )
    with pytest.raises(RPCError) as raised:
        await client.workflow_service.signal_workflow_execution(request)
    assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT


async def test_an_unknown_search_attribute_type_number_is_invalid_argument(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    request = operator.AddSearchAttributesRequest(
        namespace="default",
        search_attributes={"Odd": 99},
    )
    with pytest.raises(RPCError) as raised:
        await client.operator_service.add_search_attributes(request)
    assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT


async def test_describe_namespace_by_id(grpc_gateway: GrpcGateway) -> None:
    """As `temporal operator namespace describe --namespace-id`: by id when the name is
    empty; an id no namespace has is NOT_FOUND."""
    client = await grpc_gateway.client()
    by_name = await client.workflow_service.describe_namespace(
        wf.DescribeNamespaceRequest(namespace="default")
    )
    namespace_id = by_name.namespace_info.id
    by_id = await client.workflow_service.describe_namespace(
        wf.DescribeNamespaceRequest(id=namespace_id)
    )
    assert by_id.namespace_info.name == "default"
    with pytest.raises(RPCError) as raised:
        await client.workflow_service.describe_namespace(
            wf.DescribeNamespaceRequest(id="no-such-id")
        )
    assert raised.value.status == RPCStatusCode.NOT_FOUND


async def test_a_start_field_the_server_does_not_serve_is_refused_by_name(
    grpc_gateway: GrpcGateway,
) -> None:
    """Carried out as asked or refused, never partly ignored: the SDK's static summary
    (user_metadata) is refused naming it; its empty ``priority`` passes."""
    client = await grpc_gateway.client()
    with pytest.raises(RPCError) as raised:
        await client.start_workflow("W", id="summary", task_queue="q", static_summary="hi")
    assert raised.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "user_metadata" in raised.value.message
    handle = await client.start_workflow("W", id="plain", task_queue="q")
    assert (await handle.describe()).workflow_type == "W"
