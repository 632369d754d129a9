"""A poll whose call ends after its task was claimed gives the task back at once (the
SDKs cancel their polls when a worker shuts down): the next poller gets it without
waiting for a timeout. The reply is held open here so the call can be cancelled after
the claim, as it is when a worker stops at the wrong moment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command, ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import ActivityType
from temporalio.api.enums.v1 import CommandType, EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
)
from temporalio.client import Client

from app.grpc import worker_rpcs
from app.services import matching, workflow_tasks
from tests.grpc.conftest import GrpcGateway
from tests.grpc.test_sdk_worker import fire_timers

QUEUE = "given-back"


async def _poll_workflow(client: Client) -> PollWorkflowTaskQueueResponse:
    request = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=QUEUE), identity="w"
    )
    return await client.workflow_service.poll_workflow_task_queue(request, timeout=None)


async def _poll_activity(client: Client) -> PollActivityTaskQueueResponse:
    request = PollActivityTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=QUEUE), identity="w"
    )
    return await client.workflow_service.poll_activity_task_queue(request, timeout=None)


def _hold_replies(monkeypatch: pytest.MonkeyPatch, name: str) -> asyncio.Event:
    """Replies built by ``worker_rpcs.<name>`` wait forever (until cancelled); the event
    is set once a task has been claimed and its reply is being built."""
    claimed = asyncio.Event()
    build: Callable[..., Any] = getattr(worker_rpcs, name)

    async def held(*args: Any) -> Any:
        claimed.set()
        await asyncio.Event().wait()
        result = build(*args)
        return await result if isinstance(result, Awaitable) else result

    monkeypatch.setattr(worker_rpcs, name, held)
    return claimed


async def _cancel_after_claim(
    monkeypatch: pytest.MonkeyPatch, name: str, poll: Awaitable[Any]
) -> None:
    claimed = _hold_replies(monkeypatch, name)
    polling = asyncio.ensure_future(poll)
    await asyncio.wait_for(claimed.wait(), 30)
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)
    monkeypatch.undo()


async def _event_types(client: Client, workflow_id: str) -> list[int]:
    return [
        e.event_type async for e in client.get_workflow_handle(workflow_id).fetch_history_events()
    ]


async def test_a_workflow_task_claimed_for_a_cancelled_poll_goes_to_the_next_poller(
    grpc_gateway: GrpcGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="wf-given-back", task_queue=QUEUE)
    await _cancel_after_claim(monkeypatch, "_workflow_task", _poll_workflow(client))

    # No clock moved: the task's start-to-close timeout did not free it.
    task = await asyncio.wait_for(_poll_workflow(client), 30)
    assert task.workflow_execution.workflow_id == "wf-given-back"
    assert task.attempt == 2
    assert await _event_types(client, "wf-given-back") == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    ]


async def test_an_activity_claimed_for_a_cancelled_poll_is_the_same_attempt_again(
    grpc_gateway: GrpcGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="act-given-back", task_queue=QUEUE)
    task = await asyncio.wait_for(_poll_workflow(client), 30)
    schedule = ScheduleActivityTaskCommandAttributes(
        activity_id="a1",
        activity_type=ActivityType(name="charge"),
        task_queue=TaskQueue(name=QUEUE),
        start_to_close_timeout=Duration(seconds=60),
    )
    await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default",
            task_token=task.task_token,
            commands=[
                Command(
                    command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
                    schedule_activity_task_command_attributes=schedule,
                )
            ],
        )
    )
    await _cancel_after_claim(monkeypatch, "_activity_reply", _poll_activity(client))

    grpc_gateway.clock.advance(30)
    again = await asyncio.wait_for(_poll_activity(client), 30)
    assert (again.activity_id, again.attempt) == ("a1", 1)
    # The first start's start-to-close timer fires at 60 s; the attempt runs on, bound
    # by its own start 30 s later.
    await fire_timers(grpc_gateway, 31)
    description = await client.get_workflow_handle("act-given-back").describe()
    pending = description.raw_description.pending_activities
    assert [(p.activity_id, p.attempt) for p in pending] == [("a1", 1)]
    await fire_timers(grpc_gateway, 30)
    description = await client.get_workflow_handle("act-given-back").describe()
    assert [p.attempt for p in description.raw_description.pending_activities] == [2]


async def test_a_poller_gone_while_its_claim_committed_gives_the_task_back(
    grpc_gateway: GrpcGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Either door: the service sees its poller left during the claim's transaction."""
    client = await grpc_gateway.client()
    await client.start_workflow("Raw", id="gone-in-claim", task_queue=QUEUE)
    gone = asyncio.Event()
    claim = matching.poll

    async def leaving_during_claim(*args: Any) -> Any:
        claimed = await claim(*args)
        gone.set()
        return claimed

    monkeypatch.setattr(matching, "poll", leaving_during_claim)
    ctx = grpc_gateway.app.state.ctx
    answer = await workflow_tasks.poll(ctx, "default", QUEUE, None, gone)
    monkeypatch.undo()
    assert "task_token" not in answer
    task = await asyncio.wait_for(_poll_workflow(client), 30)
    assert (task.workflow_execution.workflow_id, task.attempt) == ("gone-in-claim", 2)
