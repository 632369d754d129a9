"""The mutable state of one workflow run, and what a transition of it produces."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.engine.events import HistoryEvent


class WorkflowStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TERMINATED = "TERMINATED"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"
    TIMED_OUT = "TIMED_OUT"


class TimerKind(StrEnum):
    WORKFLOW_BACKOFF = "WORKFLOW_BACKOFF"
    WORKFLOW_RUN_TIMEOUT = "WORKFLOW_RUN_TIMEOUT"
    WORKFLOW_TASK_TIMEOUT = "WORKFLOW_TASK_TIMEOUT"
    WORKFLOW_TASK_RETRY = "WORKFLOW_TASK_RETRY"
    WORKFLOW_TASK_SCHEDULE_TO_START = "WORKFLOW_TASK_SCHEDULE_TO_START"
    USER_TIMER = "USER_TIMER"
    ACTIVITY_RETRY = "ACTIVITY_RETRY"
    ACTIVITY_SCHEDULE_TO_START = "ACTIVITY_SCHEDULE_TO_START"
    ACTIVITY_SCHEDULE_TO_CLOSE = "ACTIVITY_SCHEDULE_TO_CLOSE"
    ACTIVITY_START_TO_CLOSE = "ACTIVITY_START_TO_CLOSE"
    ACTIVITY_HEARTBEAT = "ACTIVITY_HEARTBEAT"


@dataclass
class WorkflowTask:
    scheduled_event_id: int
    attempt: int
    task_queue: str
    start_to_close_timeout: float
    scheduled_time: datetime
    started_event_id: int = 0
    started_time: datetime | None = None
    # A retry with no new events is transient: its Scheduled/Started events are only
    # written if it completes, so a crash-looping worker does not grow the history.
    transient: bool = False
    identity: str = ""
    request_id: str = ""

    @property
    def started(self) -> bool:
        return self.started_event_id > 0


@dataclass
class ActivityInfo:
    """A scheduled activity between its ActivityTaskScheduled event and its outcome.
    Attempts, starts and heartbeats live only here until the final outcome is written."""

    scheduled_event_id: int
    activity_id: str
    activity_type: str
    task_queue: str
    schedule_to_close_timeout: float
    schedule_to_start_timeout: float
    start_to_close_timeout: float
    heartbeat_timeout: float
    retry_policy: dict[str, Any]
    scheduled_time: datetime
    attempt_scheduled_time: datetime
    input: dict[str, Any] | None = None
    header: dict[str, Any] | None = None
    attempt: int = 1
    started_time: datetime | None = None
    started_identity: str = ""
    request_id: str = ""
    heartbeat_details: dict[str, Any] | None = None
    last_heartbeat_time: datetime | None = None
    last_failure: dict[str, Any] | None = None
    cancel_requested_event_id: int = 0

    @property
    def started(self) -> bool:
        return self.started_time is not None


@dataclass
class UserTimer:
    timer_id: str
    started_event_id: int
    fire_time: datetime


@dataclass
class MutableState:
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: WorkflowStatus
    start_time: datetime
    next_event_id: int = 1
    workflow_task_timeout: float = 10.0
    run_timeout: float = 0.0
    execution_timeout: float = 0.0
    execution_expiration_time: datetime | None = None
    run_expiration_time: datetime | None = None
    workflow_task: WorkflowTask | None = None
    awaiting_first_task_backoff: bool = False
    previous_started_event_id: int = 0
    cancel_requested: bool = False
    signal_count: int = 0
    close_time: datetime | None = None
    buffered_events: list[HistoryEvent] = field(default_factory=list)
    user_timers: dict[str, UserTimer] = field(default_factory=dict)
    activities: dict[str, ActivityInfo] = field(default_factory=dict)
    pending_external: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Children by the id of their START_CHILD_WORKFLOW_EXECUTION_INITIATED event.
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    parent_initiated_event_id: int = 0
    # Set by a command whose effect the workflow must see at once (e.g. an activity
    # cancelled before it started).
    needs_workflow_task: bool = False
    # The workflow task attempt that last timed out, so a worker answering it late
    # can be told why its answer is refused.
    timed_out_workflow_task: list[int] = field(default_factory=list)
    # The run's place in its chain (retries, cron, continue-as-new).
    scheduled_start_time: datetime | None = None
    attempt: int = 1
    first_execution_run_id: str = ""
    retry_policy: dict[str, Any] | None = None
    cron_schedule: str = ""
    # The worker that has the run cached (its sticky queue, from the last completion):
    # the run's next tasks go there, with only the events it has not seen, until it
    # does not take one within the timeout, fails one, or shuts down.
    sticky_task_queue: str = ""
    sticky_schedule_to_start_timeout: float = 0.0

    @property
    def is_running(self) -> bool:
        return self.status is WorkflowStatus.RUNNING

    @property
    def workflow_task_pending(self) -> bool:
        """A workflow task is scheduled or started: queries waiting for the run's next
        task will get one."""
        return self.is_running and self.workflow_task is not None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _encode(self)
        data["buffered_events"] = [
            {
                "event_type": e.event_type.value,
                "event_time": e.event_time.isoformat(),
                "attributes": _encode(e.attributes),
            }
            for e in self.buffered_events
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MutableState:
        from app.engine.events import EventType

        values = _decode(data)
        task = values.pop("workflow_task")
        buffered = values.pop("buffered_events")
        timers = values.pop("user_timers", {})
        activities = values.pop("activities", {})
        state = cls(**values)
        state.activities = {key: ActivityInfo(**_decode(a)) for key, a in activities.items()}
        state.user_timers = {
            key: UserTimer(
                t["timer_id"], t["started_event_id"], datetime.fromisoformat(t["fire_time"])
            )
            for key, t in timers.items()
        }
        state.status = WorkflowStatus(state.status)
        state.workflow_task = WorkflowTask(**task) if task else None
        state.buffered_events = [
            HistoryEvent(
                EventType(e["event_type"]), datetime.fromisoformat(e["event_time"]), e["attributes"]
            )
            for e in buffered
        ]
        return state


_TIME_FIELDS = {
    "fire_time",
    "scheduled_start_time",
    "attempt_scheduled_time",
    "last_heartbeat_time",
    "start_time",
    "execution_expiration_time",
    "run_expiration_time",
    "close_time",
    "scheduled_time",
    "started_time",
}


def _encode(node: Any) -> Any:
    """JSON-ready copy of ``node``: containers rebuilt (nothing shared with the state),
    datetimes as ISO strings. Faster than dataclasses.asdict, which deep-copies every
    leaf first; this runs on every save of every run."""
    if isinstance(node, dict):
        return {k: _encode(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_encode(v) for v in node]
    if isinstance(node, datetime):
        return node.isoformat()
    names = _field_names(type(node))
    if names:
        return {name: _encode(getattr(node, name)) for name in names}
    return node


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = (
            tuple(f.name for f in fields(kind)) if is_dataclass(kind) else ()
        )
    return names


def _decode(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _TIME_FIELDS and isinstance(value, str):
            out[key] = datetime.fromisoformat(value)
        elif isinstance(value, dict) and key == "workflow_task":
            out[key] = _decode(value)
        else:
            out[key] = value
    return out


@dataclass
class WorkflowTaskDispatch:
    """A workflow task to put on its task queue."""

    task_queue: str
    scheduled_event_id: int


@dataclass
class ActivityTaskDispatch:
    """An activity task (attempt) to put on its task queue, or, when its command asked for
    eager execution, to start at once for the worker completing the workflow task."""

    task_queue: str
    scheduled_event_id: int
    eager: bool = False


@dataclass
class TimerToSet:
    kind: TimerKind
    fire_time: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExternalRequest:
    """A signal or cancel request this run sends to another workflow; its outcome comes
    back as an event referring to ``initiated_event_id``."""

    kind: str
    initiated_event_id: int
    namespace: str
    workflow_id: str
    run_id: str
    signal_name: str = ""
    input: dict[str, Any] | None = None
    header: dict[str, Any] | None = None
    reason: str = ""
    child_workflow_only: bool = False


@dataclass
class ChildStart:
    """A child workflow to start, from a START_CHILD_WORKFLOW_EXECUTION command."""

    initiated_event_id: int
    namespace: str
    workflow_id: str
    workflow_type: str
    task_queue: str
    input: dict[str, Any] | None
    execution_timeout: float
    run_timeout: float
    workflow_task_timeout: float
    reuse_policy: str
    retry_policy: dict[str, Any] | None = None
    cron_schedule: str = ""
    header: dict[str, Any] | None = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None


@dataclass
class NextRun:
    """The run that follows a closed one in its chain. Fields a continue-as-new command
    sets go in ``overrides``; everything else is carried from the closed run."""

    run_id: str
    initiator: str
    backoff: float
    attempt: int
    continued_failure: dict[str, Any] | None = None
    last_completion_result: dict[str, Any] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transition:
    """What one change of a run produced, to be written in one transaction."""

    events: list[HistoryEvent] = field(default_factory=list)
    workflow_tasks: list[WorkflowTaskDispatch] = field(default_factory=list)
    activity_tasks: list[ActivityTaskDispatch] = field(default_factory=list)
    timers: list[TimerToSet] = field(default_factory=list)
    next_run: NextRun | None = None
    external_requests: list[ExternalRequest] = field(default_factory=list)
    child_starts: list[ChildStart] = field(default_factory=list)

    def extend(self, later: Transition) -> None:
        """Fold a later transition of the same run into this one, to write both at once."""
        self.events += later.events
        self.workflow_tasks += later.workflow_tasks
        self.activity_tasks += later.activity_tasks
        self.timers += later.timers
        self.external_requests += later.external_requests
        self.child_starts += later.child_starts
        self.next_run = self.next_run or later.next_run

    memo_upsert: dict[str, Any] | None = None
    search_attributes_upsert: dict[str, Any] | None = None
