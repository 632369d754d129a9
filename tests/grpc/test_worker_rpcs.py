"""The worker RPCs at the protocol level, as sdk-core sees them: what a poll response
carries (grpc-compat §2.1), payload bytes verbatim both ways, and a completion whose
command the gateway refuses. Sticky queues: tests/grpc/test_sticky.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from temporalio.api.common.v1 import (
    ActivityType,
    Payload,
    Payloads,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.enums.v1 import (
    CommandType,
    EventType,
    QueryResultType,
    TaskQueueKind,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.query.v1 import WorkflowQuery, WorkflowQueryResult
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    QueryWorkflowRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    ShutdownWorkerRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.conftest import wait_until
from tests.grpc.conftest import GrpcGateway
from tests.grpc.test_sdk_worker import fire_timers

QUEUE = "raw-worker"
# Bytes no JSON decoder would take: they must come back exactly.
OPAQUE = Payload(metadata={"encoding": b"binary/encrypted", "key-id": b"k1"}, data=b"\x00\xff\x10")


async def _poll(client: Client, sticky: bool = False) -> PollWorkflowTaskQueueResponse:
    queue = (
        TaskQueue(
            name="host-1-sticky", kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name=QUEUE
        )
        if sticky
        else TaskQueue(name=QUEUE, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
    )
    request = PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue, identity="raw")
    return await asyncio.wait_for(
        client.workflow_service.poll_workflow_task_queue(request, timeout=None), 10
    )


async def _complete(client: Client, task: PollWorkflowTaskQueueResponse, *commands: Command) -> Any:
    return await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, commands=list(commands)
        )
    )


async def test_a_poll_response_carries_what_core_requires(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="raw", task_queue=QUEUE)
    task = await _poll(client)
    assert task.task_token
    assert task.workflow_execution_task_queue.name == QUEUE
    assert task.workflow_execution.workflow_id == "raw"
    assert task.workflow_type.name == "Raw"
    events = task.history.events
    assert [e.event_type for e in events] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    assert all(e.HasField("event_time") for e in events)
    assert task.started_event_id == 3
    assert task.attempt == 1
    assert task.HasField("scheduled_time") and task.HasField("started_time")
    assert not task.HasField("query") and not task.queries


async def test_payload_bytes_come_back_verbatim(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id="opaque",
            workflow_type=WorkflowType(name="Raw"),
            task_queue=TaskQueue(name=QUEUE),
            input=Payloads(payloads=[OPAQUE]),
            request_id="r1",
        )
    )
    task = await _poll(client)
    started = task.history.events[0].workflow_execution_started_event_attributes
    assert list(started.input.payloads) == [OPAQUE]
    result = Payloads(payloads=[OPAQUE, Payload(metadata={"encoding": b"binary/null"})])
    await _complete(
        client,
        task,
        Command(
            command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(
                result=result
            ),
        ),
    )
    history = await client.get_workflow_handle("opaque").fetch_history()
    closed = history.events[-1].workflow_execution_completed_event_attributes
    assert closed.result == result


async def test_a_command_with_bad_attributes_fails_the_task_with_its_cause(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="bad-timer", task_queue=QUEUE)
    task = await _poll(client)
    with pytest.raises(RPCError) as refused:
        await _complete(
            client,
            task,
            Command(
                command_type=CommandType.COMMAND_TYPE_START_TIMER,
                start_timer_command_attributes=StartTimerCommandAttributes(),  # no timer id
            ),
        )
    assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "BAD_START_TIMER_ATTRIBUTES" in refused.value.message
    # The next attempt is scheduled at once, with the failure in its history.
    again = await _poll(client)
    assert again.attempt == 2
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in [e.event_type for e in again.history.events]


async def test_a_command_of_a_feature_not_served_fails_the_task(
    grpc_gateway: GrpcGateway,
) -> None:
    """As Temporal where the feature is turned off: the task fails with FEATURE_DISABLED
    (INVALID_ARGUMENT to the worker, never an INTERNAL the SDK would retry) and the next
    attempt is scheduled at once; the run never waits on a command nothing carries out."""
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="nexus", task_queue=QUEUE)
    task = await _poll(client)
    with pytest.raises(RPCError) as refused:
        await _complete(
            client, task, Command(command_type=CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION)
        )
    assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert "SCHEDULE_NEXUS_OPERATION" in refused.value.message
    again = await _poll(client)
    assert again.attempt == 2
    failed = next(
        e for e in again.history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    )
    assert (
        failed.workflow_task_failed_event_attributes.cause
        == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FEATURE_DISABLED
    )
    rest = await grpc_gateway.http.get("/api/v1/namespaces/default/workflows/nexus/history")
    assert rest.status_code == 200, rest.text


async def test_shutdown_worker_is_accepted(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    await client.workflow_service.shutdown_worker(
        ShutdownWorkerRequest(namespace="default", sticky_task_queue="host-1-sticky", identity="w")
    )


async def test_a_poll_ends_empty_before_the_callers_deadline(grpc_gateway: GrpcGateway) -> None:
    """Its window is the deadline less a margin: with a 1 s deadline it answers at once,
    empty (sdk-core's 70 s deadline leaves the server's whole window)."""
    client = await grpc_gateway.client()
    request = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=QUEUE), identity="raw"
    )
    answer = await client.workflow_service.poll_workflow_task_queue(
        request, timeout=timedelta(seconds=1)
    )
    assert answer == PollWorkflowTaskQueueResponse()


async def test_a_query_rides_on_the_pending_workflow_task(grpc_gateway: GrpcGateway) -> None:
    """A query arriving while a workflow task waits is handed to that task (``queries``,
    never also a legacy ``query``) and answered in the completion's query_results, its
    payload verbatim."""
    client = await grpc_gateway.client()
    handle = await client.start_workflow("Raw", id="ridden", task_queue=QUEUE)
    querying = asyncio.create_task(
        client.workflow_service.query_workflow(
            QueryWorkflowRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id="ridden"),
                query=WorkflowQuery(query_type="state"),
            )
        )
    )

    # The query is waiting (on the server's clock) before the task is taken.
    await wait_until(lambda: grpc_gateway.clock.pending_waits() == 1)
    task = await _poll(client)
    assert not task.HasField("query")
    [(query_id, query)] = task.queries.items()
    assert query.query_type == "state"
    answer = Payloads(payloads=[OPAQUE])
    await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default",
            task_token=task.task_token,
            query_results={
                query_id: WorkflowQueryResult(
                    result_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED, answer=answer
                )
            },
        )
    )
    answered = await asyncio.wait_for(querying, 10)
    assert answered.query_result == answer
    del handle


async def test_a_cancelled_poll_takes_no_task(grpc_gateway: GrpcGateway) -> None:
    """The SDK cancels its waiting polls when it shuts down: a task written afterwards
    goes to the next poller, not to the call that went away."""
    client = await grpc_gateway.client()
    waiting = asyncio.create_task(_poll(client))
    await wait_until(lambda: grpc_gateway.clock.pending_waits() == 1)  # parked
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await wait_until(lambda: grpc_gateway.clock.pending_waits() == 0)  # seen by the server
    await client.start_workflow("Raw", id="after-cancel", task_queue=QUEUE)
    task = await _poll(client)
    assert task.workflow_execution.workflow_id == "after-cancel"


async def test_worker_heartbeats_are_not_advertised(grpc_gateway: GrpcGateway) -> None:
    """RecordWorkerHeartbeat is not served, so the namespace does not offer it (sdk-core
    sends worker heartbeats only to a namespace whose capabilities say so), nor polls
    completed by ShutdownWorker (the SDK cancels its polls itself)."""
    client = await grpc_gateway.client()
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    capabilities = described.namespace_info.capabilities
    assert not capabilities.worker_heartbeats
    assert not capabilities.worker_poll_complete_on_shutdown


async def test_a_failed_attempts_last_heartbeat_details_reach_the_next_attempt(
    grpc_gateway: GrpcGateway,
) -> None:
    """What activity_failure_include_heartbeat promises: details sent only with the
    failure (the SDK's last heartbeat, held back by its throttle) are kept."""
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="failed-with-details", task_queue=QUEUE)
    task = await _poll(client)
    await _complete(
        client,
        task,
        Command(
            command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
            schedule_activity_task_command_attributes=ScheduleActivityTaskCommandAttributes(
                activity_id="a1",
                activity_type=ActivityType(name="charge"),
                task_queue=TaskQueue(name=QUEUE),
                start_to_close_timeout=Duration(seconds=60),
            ),
        ),
    )
    poll = PollActivityTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=QUEUE))
    first = await client.workflow_service.poll_activity_task_queue(poll)
    details = Payloads(payloads=[OPAQUE])
    await client.workflow_service.respond_activity_task_failed(
        RespondActivityTaskFailedRequest(
            namespace="default",
            task_token=first.task_token,
            failure=Failure(message="crashed", application_failure_info={}),
            last_heartbeat_details=details,
        )
    )
    await fire_timers(grpc_gateway, 1)
    second = await client.workflow_service.poll_activity_task_queue(poll)
    assert second.attempt == 2
    assert second.heartbeat_details == details
