"""Sticky queues as sdk-core uses them: a worker completes a task naming its own queue,
and the run's next task goes there with only the events it has not seen; the run falls
back to its own queue with full history when that worker takes nothing within the
schedule-to-start timeout (WorkflowTaskTimedOut, SCHEDULE_TO_START, as Temporal writes),
fails a task, or shuts down (no event, as in Temporal)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType, TaskQueueKind, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.taskqueue.v1 import StickyExecutionAttributes, TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    ShutdownWorkerRequest,
)
from temporalio.client import Client

from tests.conftest import wait_until
from tests.grpc.conftest import GrpcGateway
from tests.grpc.test_sdk_worker import QUEUE as SDK_QUEUE
from tests.grpc.test_sdk_worker import (
    SignalQueryWorkflow,
    fire_timers,
    replays,
    running_worker,
)

QUEUE = "sticky-normal"
STICKY = "host-1-sticky"


def _queue(name: str = QUEUE, sticky_for: str = "") -> TaskQueue:
    if sticky_for:
        return TaskQueue(
            name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name=sticky_for
        )
    return TaskQueue(name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)


async def _poll(client: Client, queue: TaskQueue, seconds: float = 10) -> Any:
    request = PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue, identity="w")
    return await client.workflow_service.poll_workflow_task_queue(
        request, timeout=timedelta(seconds=seconds)
    )


async def _sticky_poll(client: Client) -> PollWorkflowTaskQueueResponse:
    return await asyncio.wait_for(_poll(client, _queue(STICKY, QUEUE)), 30)


async def _complete(client: Client, task: Any, sticky: bool = True) -> None:
    attributes = (
        StickyExecutionAttributes(
            worker_task_queue=_queue(STICKY, QUEUE),
            schedule_to_start_timeout=Duration(seconds=10),
        )
        if sticky
        else None
    )
    await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, sticky_attributes=attributes
        )
    )


def _types(task: Any) -> list[int]:
    return [e.event_type for e in task.history.events]


async def _started_sticky(grpc_gateway: GrpcGateway, workflow_id: str) -> Client:
    """A run whose first task the worker completed naming its sticky queue, then signalled:
    its second task waits on the sticky queue."""
    client = await grpc_gateway.client()
    handle = await client.start_workflow("Raw", id=workflow_id, task_queue=QUEUE)
    first = await asyncio.wait_for(_poll(client, _queue()), 30)
    await _complete(client, first)
    await handle.signal("poke")
    return client


async def test_the_next_task_goes_to_the_sticky_queue_with_only_new_events(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await _started_sticky(grpc_gateway, "sticky-partial")
    task = await _sticky_poll(client)
    assert task.workflow_execution.workflow_id == "sticky-partial"
    assert task.previous_started_event_id == 3
    assert [e.event_id for e in task.history.events] == [4, 5, 6, 7]
    assert _types(task) == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    scheduled = task.history.events[2].workflow_task_scheduled_event_attributes
    assert scheduled.task_queue == _queue(STICKY, QUEUE)
    assert task.workflow_execution_task_queue.name == QUEUE

    # Completed without sticky attributes, the run is sticky no more.
    await _complete(client, task, sticky=False)
    await client.get_workflow_handle("sticky-partial").signal("poke")
    again = await asyncio.wait_for(_poll(client, _queue()), 30)
    assert again.history.events[0].event_id == 1


async def test_a_sticky_task_not_taken_in_time_goes_to_the_normal_queue(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await _started_sticky(grpc_gateway, "sticky-timeout")
    await fire_timers(grpc_gateway, 10)
    task = await asyncio.wait_for(_poll(client, _queue()), 30)
    assert task.workflow_execution.workflow_id == "sticky-timeout"
    assert task.history.events[0].event_id == 1
    assert _types(task)[-5:] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    timed_out = task.history.events[-3].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    assert (timed_out.scheduled_event_id, timed_out.started_event_id) == (6, 0)
    rescheduled = task.history.events[-2].workflow_task_scheduled_event_attributes
    assert (rescheduled.task_queue.name, rescheduled.attempt) == (QUEUE, 1)


async def test_shutdown_worker_moves_its_runs_back_to_their_queue_at_once(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await _started_sticky(grpc_gateway, "sticky-shutdown")
    await client.workflow_service.shutdown_worker(
        ShutdownWorkerRequest(namespace="default", sticky_task_queue=STICKY, identity="w")
    )
    task = await asyncio.wait_for(_poll(client, _queue()), 30)
    assert task.workflow_execution.workflow_id == "sticky-shutdown"
    assert task.history.events[0].event_id == 1
    assert _types(task)[-3:] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    # The task is the one written for the sticky queue: moved, not rewritten.
    scheduled = task.history.events[-2].workflow_task_scheduled_event_attributes
    assert scheduled.task_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY


async def test_a_failed_task_ends_stickiness(grpc_gateway: GrpcGateway) -> None:
    client = await _started_sticky(grpc_gateway, "sticky-failed")
    task = await _sticky_poll(client)
    await client.workflow_service.respond_workflow_task_failed(
        RespondWorkflowTaskFailedRequest(
            namespace="default",
            task_token=task.task_token,
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
        )
    )
    retry = await asyncio.wait_for(_poll(client, _queue()), 30)
    assert (retry.workflow_execution.workflow_id, retry.attempt) == ("sticky-failed", 2)
    assert retry.history.events[0].event_id == 1


async def test_a_sticky_poll_reaches_only_runs_of_the_queue_it_serves(
    grpc_gateway: GrpcGateway,
) -> None:
    """A worker that may poll another queue cannot take these runs' tasks by naming their
    worker's sticky queue; the task falls back after the timeout."""
    client = await _started_sticky(grpc_gateway, "sticky-other")
    other = asyncio.ensure_future(_poll(client, _queue(STICKY, "another-queue"), seconds=60))
    await wait_until(lambda: grpc_gateway.clock.pending_waits() == 1)  # parked, empty-handed
    await fire_timers(grpc_gateway, 10)
    task = await asyncio.wait_for(_poll(client, _queue()), 30)
    assert task.workflow_execution.workflow_id == "sticky-other"
    assert not other.done()
    other.cancel()
    await asyncio.gather(other, return_exceptions=True)


def _scheduled_kinds(history: Any) -> list[int]:
    return [
        e.workflow_task_scheduled_event_attributes.task_queue.kind
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    ]


async def test_the_sdk_worker_runs_sticky_and_its_history_replays(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SignalQueryWorkflow.run, id="sdk-sticky", task_queue=SDK_QUEUE
        )
        await handle.signal(SignalQueryWorkflow.add, "book")
        assert await handle.query(SignalQueryWorkflow.count) in (0, 1)
        await handle.signal(SignalQueryWorkflow.add, "done")
        assert await asyncio.wait_for(handle.result(), 30) == ["book", "done"]
    history = await handle.fetch_history()
    kinds = _scheduled_kinds(history)
    assert kinds[0] == TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    assert TaskQueueKind.TASK_QUEUE_KIND_STICKY in kinds[1:]
    await replays(client, handle)


async def test_a_run_outlives_its_sdk_worker_and_the_next_one_finishes_it(
    grpc_gateway: GrpcGateway,
) -> None:
    """The first worker shuts down (ShutdownWorker releases its sticky queue); the run's
    next task goes to the next worker at once, with full history — no clock moved."""
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SignalQueryWorkflow.run, id="sdk-sticky-handover", task_queue=SDK_QUEUE
        )
        await handle.signal(SignalQueryWorkflow.add, "book")
        assert await handle.query(SignalQueryWorkflow.count) in (0, 1)
    await handle.signal(SignalQueryWorkflow.add, "more")
    async with running_worker(client):
        await handle.signal(SignalQueryWorkflow.add, "done")
        assert await asyncio.wait_for(handle.result(), 30) == ["book", "more", "done"]
    history = await handle.fetch_history()
    timed_out = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
    ]
    assert timed_out == []
    await replays(client, handle)


async def test_a_task_the_completion_scheduled_comes_back_inline(
    grpc_gateway: GrpcGateway,
) -> None:
    """return_new_workflow_task (sdk-core always asks): the worker need not poll for it."""
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="sticky-inline", task_queue=QUEUE)
    first = await asyncio.wait_for(_poll(client, _queue()), 30)
    answer = await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default",
            task_token=first.task_token,
            sticky_attributes=StickyExecutionAttributes(
                worker_task_queue=_queue(STICKY, QUEUE),
                schedule_to_start_timeout=Duration(seconds=10),
            ),
            force_create_new_workflow_task=True,
            return_new_workflow_task=True,
        )
    )
    inline = answer.workflow_task
    assert inline.task_token and inline.workflow_execution.workflow_id == "sticky-inline"
    assert (inline.started_event_id, inline.previous_started_event_id) == (6, 3)
    assert _types(inline) == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    assert inline.workflow_execution_task_queue.name == QUEUE
    await _complete(client, inline)
