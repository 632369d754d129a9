"""The official Python SDK's Worker runs workflows and activities against the gateway's
gRPC door (with the SDK's Client), and every history it produced replays with the same
workflow code without a nondeterminism error. Time is the server's ManualClock: timers
and retry backoffs fire when a test moves it and runs the timer loop, never by sleeping."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from app.services import history as history_service
from app.services.timers import TimerProcessor
from tests.grpc.conftest import GrpcGateway
from tests.grpc.http_worker import HttpWorker

QUEUE = "sdk-worker"
T = TypeVar("T")
# How long a test waits for the worker to reach a state: generous, as it only bounds a
# failure; a passing test takes milliseconds per step.
WAIT_SECONDS = 20.0


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


class Flaky:
    """An activity that fails its first attempt and succeeds on the second."""

    def __init__(self) -> None:
        self.attempts: list[int] = []

    @activity.defn(name="flaky")
    async def run(self, value: int) -> int:
        self.attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise ApplicationError("not yet")
        return value * 2


@workflow.defn
class GreetWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class SignalQueryWorkflow:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: "done" in self.items)
        return self.items

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.query
    def count(self) -> int:
        return len(self.items)


@workflow.defn
class SleepWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "woke"


@workflow.defn
class RetryWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        result: int = await workflow.execute_activity(
            "flaky",
            value,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5)),
        )
        return result


@workflow.defn
class LocalWorkflow:
    """A local activity (a RECORD_MARKER command) behind a patch marker."""

    @workflow.run
    async def run(self, name: str) -> str:
        if workflow.patched("greet-locally"):
            result: str = await workflow.execute_local_activity(
                greet, name, start_to_close_timeout=timedelta(seconds=30)
            )
            return result
        return "unpatched"


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        result: str = await workflow.execute_child_workflow(
            GreetWorkflow.run, name, id=f"{workflow.info().workflow_id}-child"
        )
        return f"child said {result}"


@activity.defn
async def remember() -> str:
    """Heartbeats its progress and fails its first attempt; the second attempt starts
    from the details the first one left."""
    info = activity.info()
    if info.attempt == 1:
        activity.heartbeat("halfway")
        raise ApplicationError("crashed halfway")
    return f"resumed from {info.heartbeat_details[0]}"


@activity.defn
async def endless() -> str:
    """Heartbeats until the workflow asks it to stop: the cancellation arrives on a
    heartbeat's answer and is raised here as CancelledError, which the SDK reports."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.05)


@workflow.defn
class HeartbeatWorkflow:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(
            remember,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
        )
        return result


@workflow.defn
class CancelActivityWorkflow:
    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            endless,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=1),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.wait_condition(lambda: self.stop)
        handle.cancel()
        try:
            await handle
        except ActivityError as error:
            assert isinstance(error.cause, CancelledError)
            return "activity cancelled"
        return "activity finished"

    def __init__(self) -> None:
        self.stop = False

    @workflow.signal
    def halt(self) -> None:
        self.stop = True


@workflow.defn
class CountdownWorkflow:
    @workflow.run
    async def run(self, left: int) -> str:
        if left:
            workflow.continue_as_new(left - 1)
        return "liftoff"


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self) -> None:
        raise ApplicationError("no luck", {"why": "bad"}, type="Unlucky", non_retryable=True)


class Glitch:
    """How many more of BuggyWorkflow's tasks fail (a bug fixed after some attempts)."""

    failures = 1


@workflow.defn
class BuggyWorkflow:
    @workflow.run
    async def run(self) -> str:
        if Glitch.failures > 0:
            Glitch.failures -= 1
            raise RuntimeError("a bug in the workflow code")  # fails the task, not the run
        return "recovered"


class Outside:
    """The task tokens of activities left to be completed from outside the worker."""

    tokens: ClassVar[list[bytes]] = []


@activity.defn
async def wait_outside() -> str:
    Outside.tokens.append(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class AsyncActivityWorkflow:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(
            wait_outside, activity_id="outside", start_to_close_timeout=timedelta(seconds=60)
        )
        return result


STAGE = SearchAttributeKey.for_keyword("Stage")


@workflow.defn
class StagedWorkflow:
    """Upserts a search attribute and a memo, then waits to be told to finish."""

    def __init__(self) -> None:
        self.finish = False

    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes([STAGE.value_set("shipped")])
        workflow.upsert_memo({"note": "left the warehouse"})
        await workflow.wait_condition(lambda: self.finish)
        return "delivered"

    @workflow.signal
    def deliver(self) -> None:
        self.finish = True


@workflow.defn
class SecondTimeLuckyWorkflow:
    """Fails its first run; the workflow's retry policy starts a second, which succeeds."""

    @workflow.run
    async def run(self) -> int:
        if workflow.info().attempt == 1:
            raise ApplicationError("first run fails")
        return workflow.info().attempt


@workflow.defn
class WaitingChildWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn
class LeavingParentWorkflow:
    """Starts a child that never finishes and completes at once: the child's parent
    close policy decides its fate."""

    @workflow.run
    async def run(self, policy: str) -> str:
        await workflow.start_child_workflow(
            WaitingChildWorkflow.run,
            id=f"{workflow.info().workflow_id}-child",
            parent_close_policy=workflow.ParentClosePolicy[policy],
        )
        return "left"


@activity.defn
async def stuck(heartbeat_once: bool) -> str:
    """Never finishes (until the worker shuts down): only a timeout ends its attempt."""
    if heartbeat_once:
        activity.heartbeat()
    await asyncio.Event().wait()
    return "unreachable"


@activity.defn
async def refuse() -> str:
    raise ApplicationError("never", type="Refused", non_retryable=True)


@workflow.defn
class TimeoutWorkflow:
    """Runs ``stuck`` once (no retries) and reports how its attempt ended."""

    @workflow.run
    async def run(self, heartbeat: bool) -> str:
        try:
            await workflow.execute_activity(
                stuck,
                heartbeat,
                start_to_close_timeout=timedelta(seconds=20),
                heartbeat_timeout=timedelta(seconds=5) if heartbeat else None,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as error:
            assert isinstance(error.cause, TimeoutError)
            return error.cause.type.name if error.cause.type else "?"
        return "finished"


@workflow.defn
class RefusedWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(refuse, start_to_close_timeout=timedelta(seconds=20))
        except ActivityError as error:
            assert isinstance(error.cause, ApplicationError)
            return f"{error.cause.type}: {error.cause.message}"
        return "accepted"


@workflow.defn
class MessengerWorkflow:
    """Signals another workflow twice (SignalExternalWorkflowExecution)."""

    @workflow.run
    async def run(self, target: str) -> str:
        other = workflow.get_external_workflow_handle(target)
        await other.signal(SignalQueryWorkflow.add, "from a workflow")
        await other.signal(SignalQueryWorkflow.add, "done")
        return "delivered"


@workflow.defn
class CronWorkflow:
    @workflow.run
    async def run(self) -> str:
        return "tick"


@activity.defn
async def slow_local() -> str:
    """Outlasts its workflow task's timeout (real time: the SDK's own clock decides
    when to heartbeat the task)."""
    await asyncio.sleep(2.0)
    return "slow but done"


@workflow.defn
class SlowLocalWorkflow:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_local_activity(
            slow_local, start_to_close_timeout=timedelta(seconds=30)
        )
        return result


HTTP_QUEUE = "http-activities"


@workflow.defn
class CrossDoorWorkflow:
    """Its activity runs on a queue served by a REST worker."""

    @workflow.run
    async def run(self, order: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            "charge",
            order,
            task_queue=HTTP_QUEUE,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return result


WORKFLOWS = [
    CrossDoorWorkflow,
    SlowLocalWorkflow,
    MessengerWorkflow,
    CronWorkflow,
    TimeoutWorkflow,
    RefusedWorkflow,
    SecondTimeLuckyWorkflow,
    WaitingChildWorkflow,
    LeavingParentWorkflow,
    StagedWorkflow,
    AsyncActivityWorkflow,
    BuggyWorkflow,
    HeartbeatWorkflow,
    CancelActivityWorkflow,
    CountdownWorkflow,
    FailingWorkflow,
    GreetWorkflow,
    SignalQueryWorkflow,
    SleepWorkflow,
    RetryWorkflow,
    LocalWorkflow,
    ParentWorkflow,
]


@asynccontextmanager
async def running_worker(client: Client, *activities: Callable[..., Any]) -> AsyncIterator[Worker]:
    worker = Worker(
        client,
        task_queue=QUEUE,
        workflows=WORKFLOWS,
        activities=list(activities) or [greet],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with worker:
        yield worker


async def eventually(check: Callable[[], Awaitable[T | None]]) -> T:
    """Poll ``check`` (real time, briefly) until it gives a value."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        value = await check()
        if value is not None:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def fire_timers(gateway: GrpcGateway, seconds: float) -> None:
    gateway.clock.advance(seconds)
    loop = gateway.app.state.ctx.loops[0]
    assert isinstance(loop, TimerProcessor)
    await loop.run_once()


async def event_types(handle: WorkflowHandle[Any, Any]) -> list[str]:
    from temporalio.api.enums.v1 import EventType

    return [
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        async for e in handle.fetch_history_events()
    ]


async def replays(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    """The run's history replays with the same workflow code: no nondeterminism."""
    history = await handle.fetch_history()
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_a_workflow_runs_an_activity_and_returns_its_result(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            GreetWorkflow.run, "world", id=_id("greet"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "hello world"
    assert await event_types(handle) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    # The server advertises sdk_metadata: the SDK's flags are kept in history for replay.
    history = await handle.fetch_history()
    completed = history.events[3].workflow_task_completed_event_attributes
    assert completed.sdk_metadata.core_used_flags
    assert completed.sdk_metadata.sdk_name == "temporal-python"
    await replays(client, handle)


async def test_a_signal_then_a_query(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SignalQueryWorkflow.run, id=_id("signalled"), task_queue=QUEUE
        )
        await handle.signal(SignalQueryWorkflow.add, "book")

        async def counted() -> int | None:
            count: int = await handle.query(SignalQueryWorkflow.count)
            return count if count == 1 else None

        assert await eventually(counted) == 1
        await handle.signal(SignalQueryWorkflow.add, "done")
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == ["book", "done"]
        # A query of the closed run is answered by the worker from its full history.
        assert await handle.query(SignalQueryWorkflow.count) == 2
    assert (await event_types(handle)).count("WORKFLOW_EXECUTION_SIGNALED") == 2
    await replays(client, handle)


async def test_a_timer_fires_on_the_servers_clock(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SleepWorkflow.run, 30.0, id=_id("sleeper"), task_queue=QUEUE
        )

        async def timer_started() -> bool | None:
            return True if "TIMER_STARTED" in await event_types(handle) else None

        await eventually(timer_started)
        await fire_timers(grpc_gateway, 29)
        assert "TIMER_FIRED" not in await event_types(handle)
        await fire_timers(grpc_gateway, 1)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "woke"
    types = await event_types(handle)
    assert types[types.index("TIMER_STARTED") + 1] == "TIMER_FIRED"
    await replays(client, handle)


async def test_an_activity_fails_then_succeeds_on_its_retry(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    flaky = Flaky()
    async with running_worker(client, flaky.run):
        handle = await client.start_workflow(
            RetryWorkflow.run, 21, id=_id("retried"), task_queue=QUEUE
        )

        async def failed_once() -> bool | None:
            # The server has the failure: the activity waits for its second attempt.
            pending = (await handle.describe()).raw_description.pending_activities
            return True if pending and pending[0].attempt == 2 else None

        await eventually(failed_once)
        # The retry waits out its backoff (5 s) on the server's clock.
        await fire_timers(grpc_gateway, 5)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == 42
    assert flaky.attempts == [1, 2]
    types = await event_types(handle)
    # Retries are invisible in history: one scheduled, one started (attempt 2), completed.
    assert types.count("ACTIVITY_TASK_SCHEDULED") == 1
    assert "ACTIVITY_TASK_COMPLETED" in types
    await replays(client, handle)


async def test_a_local_activity_behind_a_patch(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            LocalWorkflow.run, "there", id=_id("local"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "hello there"
    types = await event_types(handle)
    assert types.count("MARKER_RECORDED") == 2  # the patch, then the local activity
    assert "ACTIVITY_TASK_SCHEDULED" not in types
    await replays(client, handle)


async def test_a_child_workflow(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            ParentWorkflow.run, "kid", id=_id("parent"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "child said hello kid"
        child = client.get_workflow_handle(f"{handle.id}-child")
        assert await child.result() == "hello kid"
    types = await event_types(handle)
    assert types.index("START_CHILD_WORKFLOW_EXECUTION_INITIATED") < types.index(
        "CHILD_WORKFLOW_EXECUTION_STARTED"
    )
    assert "CHILD_WORKFLOW_EXECUTION_COMPLETED" in types
    await replays(client, handle)
    await replays(client, child)


async def test_heartbeat_details_reach_the_next_attempt(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client, remember):
        handle = await client.start_workflow(
            HeartbeatWorkflow.run, id=_id("heartbeat"), task_queue=QUEUE
        )

        async def failed_once() -> bool | None:
            pending = (await handle.describe()).raw_description.pending_activities
            return True if pending and pending[0].attempt == 2 else None

        await eventually(failed_once)
        await fire_timers(grpc_gateway, 1)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "resumed from halfway"
    await replays(client, handle)


async def test_a_cancellation_reaches_the_activity_through_its_heartbeat(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client, endless):
        handle = await client.start_workflow(
            CancelActivityWorkflow.run, id=_id("cancel-activity"), task_queue=QUEUE
        )

        async def activity_running() -> bool | None:
            pending = (await handle.describe()).raw_description.pending_activities
            return True if any(p.HasField("last_started_time") for p in pending) else None

        await eventually(activity_running)
        await handle.signal(CancelActivityWorkflow.halt)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "activity cancelled"
    types = await event_types(handle)
    assert "ACTIVITY_TASK_CANCEL_REQUESTED" in types
    assert "ACTIVITY_TASK_CANCELED" in types
    await replays(client, handle)


async def test_continue_as_new(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            CountdownWorkflow.run, 2, id=_id("countdown"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "liftoff"
        first = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        assert (await event_types(first))[-1] == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    await replays(client, first)
    await replays(client, client.get_workflow_handle(handle.id))


async def test_a_workflow_failure_is_the_sdks_typed_error(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            FailingWorkflow.run, id=_id("failing"), task_queue=QUEUE
        )
        try:
            await asyncio.wait_for(handle.result(), WAIT_SECONDS)
        except WorkflowFailureError as failed:
            cause = failed.cause
            assert isinstance(cause, ApplicationError)
            assert (cause.type, cause.message, cause.non_retryable) == ("Unlucky", "no luck", True)
            assert cause.details == ({"why": "bad"},)
        else:
            raise AssertionError("the workflow did not fail")
    await replays(client, handle)


async def test_a_workflow_cancelled_by_its_client(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SleepWorkflow.run, 3600.0, id=_id("cancelled"), task_queue=QUEUE
        )

        async def timer_started() -> bool | None:
            return True if "TIMER_STARTED" in await event_types(handle) else None

        await eventually(timer_started)
        await handle.cancel()
        try:
            await asyncio.wait_for(handle.result(), WAIT_SECONDS)
        except WorkflowFailureError as failed:
            assert isinstance(failed.cause, CancelledError)
        else:
            raise AssertionError("the workflow was not cancelled")
    types = await event_types(handle)
    assert types[-1] == "WORKFLOW_EXECUTION_CANCELED"
    await replays(client, handle)


async def test_a_failed_workflow_task_is_retried(grpc_gateway: GrpcGateway) -> None:
    """The SDK reports the first attempt's failure (RespondWorkflowTaskFailed); the next
    attempt is scheduled at once and succeeds; the failure is in history once."""
    Glitch.failures = 1
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(BuggyWorkflow.run, id=_id("buggy"), task_queue=QUEUE)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "recovered"
    types = await event_types(handle)
    assert types.count("WORKFLOW_TASK_FAILED") == 1
    assert types[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    await replays(client, handle)


@pytest.mark.parametrize("by", ["token", "id"])
async def test_an_activity_completed_asynchronously(grpc_gateway: GrpcGateway, by: str) -> None:
    Outside.tokens = []
    client = await grpc_gateway.client()
    async with running_worker(client, wait_outside):
        handle = await client.start_workflow(
            AsyncActivityWorkflow.run, id=_id("async"), task_queue=QUEUE
        )

        async def handed_out() -> bytes | None:
            return Outside.tokens[0] if Outside.tokens else None

        token = await eventually(handed_out)
        outside = (
            client.get_async_activity_handle(task_token=token)
            if by == "token"
            else client.get_async_activity_handle(
                workflow_id=handle.id, run_id=None, activity_id="outside"
            )
        )
        await outside.heartbeat("almost")
        await outside.complete(f"done by {by}")
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == f"done by {by}"
    await replays(client, handle)


async def test_an_activity_failed_by_id(grpc_gateway: GrpcGateway) -> None:
    Outside.tokens = []
    client = await grpc_gateway.client()
    async with running_worker(client, wait_outside):
        handle = await client.start_workflow(
            AsyncActivityWorkflow.run, id=_id("async-failed"), task_queue=QUEUE
        )

        async def handed_out() -> bytes | None:
            return Outside.tokens[0] if Outside.tokens else None

        await eventually(handed_out)
        outside = client.get_async_activity_handle(
            workflow_id=handle.id, run_id=None, activity_id="outside"
        )
        await outside.fail(ApplicationError("gave up", non_retryable=True))
        try:
            await asyncio.wait_for(handle.result(), WAIT_SECONDS)
        except WorkflowFailureError as failed:
            assert isinstance(failed.cause, ActivityError)
            assert isinstance(failed.cause.cause, ApplicationError)
            assert failed.cause.cause.message == "gave up"
        else:
            raise AssertionError("the activity's failure did not fail the workflow")
    await replays(client, handle)


async def test_a_workflow_task_failing_again_is_timed_out_and_retried(
    grpc_gateway: GrpcGateway,
) -> None:
    """The SDK reports a failure on attempt 1 only; on attempt 2 it stays silent and the
    server times the task out (10 s, on its clock) and raises the attempt; attempt 3
    succeeds. The failed attempts after the first are transient: history keeps one
    WorkflowTaskFailed and the timeout is not written either."""
    Glitch.failures = 2
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(BuggyWorkflow.run, id=_id("buggy2"), task_queue=QUEUE)

        async def second_attempt_failed() -> bool | None:
            return True if Glitch.failures == 0 else None

        await eventually(second_attempt_failed)
        await fire_timers(grpc_gateway, 10)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "recovered"
    types = await event_types(handle)
    assert types.count("WORKFLOW_TASK_FAILED") == 1
    assert "WORKFLOW_TASK_TIMED_OUT" not in types, types
    await replays(client, handle)


async def test_a_history_longer_than_a_page(
    grpc_gateway: GrpcGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll hands the first page and a token; the SDK reads the rest (the last page
    ending with the task's transient events) through GetWorkflowExecutionHistory."""
    monkeypatch.setattr(history_service, "MAX_PAGE_SIZE", 4)
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SignalQueryWorkflow.run, id=_id("paged"), task_queue=QUEUE
        )
        for item in ["a", "b", "c"]:
            await handle.signal(SignalQueryWorkflow.add, item)

        async def counted() -> int | None:
            count: int = await handle.query(SignalQueryWorkflow.count)
            return count if count == 3 else None

        assert await eventually(counted) == 3
        await handle.signal(SignalQueryWorkflow.add, "done")
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == ["a", "b", "c", "done"]
    assert len(await event_types(handle)) > 8
    await replays(client, handle)


async def test_an_upserted_search_attribute_is_found_by_a_list_query(
    grpc_gateway: GrpcGateway,
) -> None:
    client = await grpc_gateway.client()
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={"Stage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    async with running_worker(client):
        handle = await client.start_workflow(StagedWorkflow.run, id=_id("staged"), task_queue=QUEUE)

        async def listed() -> list[str] | None:
            found = [w.id async for w in client.list_workflows("Stage = 'shipped'")]
            return found or None

        assert await eventually(listed) == [handle.id]
        described = await handle.describe()
        assert described.typed_search_attributes.get(STAGE) == "shipped"
        assert await described.memo_value("note") == "left the warehouse"
        await handle.signal(StagedWorkflow.deliver)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "delivered"
    types = await event_types(handle)
    assert "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" in types
    assert "WORKFLOW_PROPERTIES_MODIFIED" in types
    await replays(client, handle)


async def test_a_workflow_retried_by_its_retry_policy(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            SecondTimeLuckyWorkflow.run,
            id=_id("lucky"),
            task_queue=QUEUE,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=3)),
        )
        first = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)

        async def first_failed() -> bool | None:
            return True if (await event_types(first))[-1] == "WORKFLOW_EXECUTION_FAILED" else None

        await eventually(first_failed)
        await fire_timers(grpc_gateway, 3)  # the second run's backoff
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == 2
    await replays(client, first)
    await replays(client, client.get_workflow_handle(handle.id))


@pytest.mark.parametrize(
    ("policy", "child_status"),
    [
        ("TERMINATE", WorkflowExecutionStatus.TERMINATED),
        ("REQUEST_CANCEL", WorkflowExecutionStatus.CANCELED),
        ("ABANDON", WorkflowExecutionStatus.RUNNING),
    ],
)
async def test_a_childs_parent_close_policy(
    grpc_gateway: GrpcGateway, policy: str, child_status: WorkflowExecutionStatus
) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            LeavingParentWorkflow.run, policy, id=_id("leaving"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "left"
        child = client.get_workflow_handle(f"{handle.id}-child")

        async def settled() -> WorkflowExecutionStatus | None:
            status = (await child.describe()).status
            return status if status == child_status else None

        assert await eventually(settled) == child_status
    await replays(client, handle)
    await replays(client, child)


@pytest.mark.parametrize(
    ("heartbeat", "seconds", "kind"),
    [(False, 20, "START_TO_CLOSE"), (True, 5, "HEARTBEAT")],
    ids=["start-to-close", "heartbeat"],
)
async def test_an_activity_timeout_on_the_servers_clock(
    grpc_gateway: GrpcGateway, heartbeat: bool, seconds: float, kind: str
) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client, stuck):
        handle = await client.start_workflow(
            TimeoutWorkflow.run, heartbeat, id=_id("timeout"), task_queue=QUEUE
        )

        async def running() -> bool | None:
            pending = (await handle.describe()).raw_description.pending_activities
            started = [p for p in pending if p.HasField("last_started_time")]
            beaten = [p for p in started if p.HasField("last_heartbeat_time")]
            return True if (beaten if heartbeat else started) else None

        await eventually(running)
        await fire_timers(grpc_gateway, seconds)
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == kind
    assert "ACTIVITY_TASK_TIMED_OUT" in await event_types(handle)
    await replays(client, handle)


async def test_a_non_retryable_activity_error(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client, refuse):
        handle = await client.start_workflow(
            RefusedWorkflow.run, id=_id("refused"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "Refused: never"
    types = await event_types(handle)
    assert types.count("ACTIVITY_TASK_STARTED") == 1
    assert "ACTIVITY_TASK_FAILED" in types
    await replays(client, handle)


async def test_a_workflow_signals_another(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        receiver = await client.start_workflow(
            SignalQueryWorkflow.run, id=_id("receiver"), task_queue=QUEUE
        )
        sender = await client.start_workflow(
            MessengerWorkflow.run, receiver.id, id=_id("sender"), task_queue=QUEUE
        )
        assert await asyncio.wait_for(sender.result(), WAIT_SECONDS) == "delivered"
        assert await asyncio.wait_for(receiver.result(), WAIT_SECONDS) == [
            "from a workflow",
            "done",
        ]
    assert (await event_types(sender)).count("EXTERNAL_WORKFLOW_EXECUTION_SIGNALED") == 2
    await replays(client, sender)
    await replays(client, receiver)


async def test_a_cron_workflow_runs_on_the_servers_clock(grpc_gateway: GrpcGateway) -> None:
    client = await grpc_gateway.client()
    async with running_worker(client):
        handle = await client.start_workflow(
            CronWorkflow.run, id=_id("cron"), task_queue=QUEUE, cron_schedule="* * * * *"
        )
        runs: list[str] = []
        for _ in range(2):
            # The run waits for its minute, then completes, and the next run is planned.
            await fire_timers(grpc_gateway, 60)

            async def completed() -> str | None:
                async for run in client.list_workflows(f"WorkflowId = '{handle.id}'"):
                    if run.status == WorkflowExecutionStatus.COMPLETED and run.run_id not in runs:
                        return run.run_id
                return None

            runs.append(await eventually(completed))
        for run_id in runs:
            run = client.get_workflow_handle(handle.id, run_id=run_id)
            assert (await event_types(run))[-1] == "WORKFLOW_EXECUTION_COMPLETED"
            await replays(client, run)
        await client.get_workflow_handle(handle.id).terminate("enough")


async def test_a_local_activity_longer_than_its_workflow_task(grpc_gateway: GrpcGateway) -> None:
    """The SDK heartbeats the workflow task (a completion with no commands and
    force_create_new_workflow_task) every 0.8 x its 1 s timeout; each heartbeat is a new
    task with no new events, and the run completes."""
    client = await grpc_gateway.client()
    async with running_worker(client, greet, slow_local):
        handle = await client.start_workflow(
            SlowLocalWorkflow.run,
            id=_id("slow-local"),
            task_queue=QUEUE,
            task_timeout=timedelta(seconds=1),
        )
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == "slow but done"
    types = await event_types(handle)
    # At least one heartbeat: a completed task followed at once by the next task, with
    # no event between; without it the marker would ride on the first task.
    assert types[3:6] == [
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert types.count("WORKFLOW_TASK_COMPLETED") >= 2
    assert "MARKER_RECORDED" in types
    await replays(client, handle)


async def test_an_sdk_workflow_with_an_activity_run_by_a_rest_worker(
    grpc_gateway: GrpcGateway,
) -> None:
    """Both doors serve one engine: the SDK's workflow schedules an activity that an HTTP
    worker takes (its input shown as JSON) and completes with a JSON value, which the
    SDK decodes as its own."""
    client = await grpc_gateway.client()
    rest_worker = HttpWorker(grpc_gateway)
    async with running_worker(client):
        handle = await client.start_workflow(
            CrossDoorWorkflow.run, {"sku": "book", "qty": 2}, id=_id("cross"), task_queue=QUEUE
        )
        task = await rest_worker.activity_task(HTTP_QUEUE)
        assert task["activity_type"] == {"name": "charge"}
        assert task["input"] == {"sku": "book", "qty": 2}
        response = await grpc_gateway.http.post(
            "/api/v1/namespaces/default/activities/complete",
            json={"task_token": task["task_token"], "result": {"charged": 2}},
        )
        assert response.status_code == 200, response.text
        assert await asyncio.wait_for(handle.result(), WAIT_SECONDS) == {"charged": 2}
    await replays(client, handle)
