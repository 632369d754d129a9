"""Worker API schemas: polling task queues and answering workflow tasks."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.models.common import Duration, HistoryEvent, Memo, StrictModel, proto_enum


class WorkflowTaskFailedCause(StrEnum):
    UNHANDLED_COMMAND = "UNHANDLED_COMMAND"
    BAD_SCHEDULE_ACTIVITY_ATTRIBUTES = "BAD_SCHEDULE_ACTIVITY_ATTRIBUTES"
    BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES = "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES"
    BAD_START_TIMER_ATTRIBUTES = "BAD_START_TIMER_ATTRIBUTES"
    BAD_CANCEL_TIMER_ATTRIBUTES = "BAD_CANCEL_TIMER_ATTRIBUTES"
    BAD_RECORD_MARKER_ATTRIBUTES = "BAD_RECORD_MARKER_ATTRIBUTES"
    BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES = "BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES"
    BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES = "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES"
    BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES = "BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES"
    BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES = (
        "BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
    )
    BAD_CONTINUE_AS_NEW_ATTRIBUTES = "BAD_CONTINUE_AS_NEW_ATTRIBUTES"
    START_TIMER_DUPLICATE_ID = "START_TIMER_DUPLICATE_ID"
    RESET_STICKY_TASK_QUEUE = "RESET_STICKY_TASK_QUEUE"
    WORKFLOW_WORKER_UNHANDLED_FAILURE = "WORKFLOW_WORKER_UNHANDLED_FAILURE"
    BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES = "BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES"
    BAD_START_CHILD_EXECUTION_ATTRIBUTES = "BAD_START_CHILD_EXECUTION_ATTRIBUTES"
    FORCE_CLOSE_COMMAND = "FORCE_CLOSE_COMMAND"
    FAILOVER_CLOSE_COMMAND = "FAILOVER_CLOSE_COMMAND"
    BAD_SIGNAL_INPUT_SIZE = "BAD_SIGNAL_INPUT_SIZE"
    RESET_WORKFLOW = "RESET_WORKFLOW"
    BAD_BINARY = "BAD_BINARY"
    SCHEDULE_ACTIVITY_DUPLICATE_ID = "SCHEDULE_ACTIVITY_DUPLICATE_ID"
    BAD_SEARCH_ATTRIBUTES = "BAD_SEARCH_ATTRIBUTES"
    NON_DETERMINISTIC_ERROR = "NON_DETERMINISTIC_ERROR"
    BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES = "BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES"


FailedCauseField = proto_enum(WorkflowTaskFailedCause, "WORKFLOW_TASK_FAILED_CAUSE_")


# Temporal's rate for a poller that declares none.
UNLIMITED_RATE = 100_000.0


class TaskQueueMetadata(StrictModel):
    max_tasks_per_second: float | None = Field(None, ge=0, le=UNLIMITED_RATE)


class PollTaskQueueRequest(StrictModel):
    namespace: str | None = None
    task_queue: Any = Field(None, description="Must name the path's task queue if given.")
    identity: str = Field("", max_length=1000)
    binary_checksum: str = ""
    task_queue_metadata: TaskQueueMetadata | None = Field(
        None, description="max_tasks_per_second: the rate DescribeTaskQueue reports for it."
    )

    @property
    def rate_per_second(self) -> float:
        metadata = self.task_queue_metadata
        if metadata is None or metadata.max_tasks_per_second is None:
            return UNLIMITED_RATE
        return metadata.max_tasks_per_second

    wait_timeout: Duration | None = Field(
        None,
        description=(
            "How long to wait for a task; at most the server's window (50s, the default); "
            '"0s" answers at once.'
        ),
    )


class WorkflowExecutionRef(BaseModel):
    workflow_id: str
    run_id: str


class NameRef(BaseModel):
    name: str


class TaskQueueRef(BaseModel):
    name: str
    kind: str = "NORMAL"


class PollWorkflowTaskQueueResponse(BaseModel):
    """Empty (``task_token`` "") when no task arrived within the window."""

    task_token: str = ""
    workflow_execution: WorkflowExecutionRef | None = None
    workflow_type: NameRef | None = None
    previous_started_event_id: int = 0
    started_event_id: int = 0
    attempt: int = 0
    backlog_count_hint: int = 0
    scheduled_time: str | None = None
    started_time: str | None = None
    history: list[HistoryEvent] = Field(default_factory=list)
    next_page_token: str = ""
    workflow_execution_task_queue: TaskQueueRef | None = None
    workflow_task_timeout: str | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)
    query: dict[str, Any] | None = Field(
        None, description="Set on a query task: answer it with RespondQueryTaskCompleted."
    )
    queries: dict[str, dict[str, Any]] | None = Field(
        None, description="Queries riding on this workflow task; answer them in query_results."
    )
    poll_window: str = Field(description="The long-poll window this poll used.")


class WorkerTaskQueue(StrictModel):
    name: str = Field(max_length=1000)
    kind: Any = None
    normal_name: str = Field("", max_length=1000)


class StickyExecutionAttributes(StrictModel):
    """The completing worker's own queue for the run's next tasks: they go there with only
    the events it has not seen, back to the run's queue with full history when it takes
    none within ``schedule_to_start_timeout`` (default 10s) or shuts down."""

    worker_task_queue: WorkerTaskQueue | None = None
    schedule_to_start_timeout: Duration | None = None


class RespondWorkflowTaskCompletedRequest(StrictModel):
    namespace: str | None = None
    task_token: str
    commands: list[dict[str, Any]] = Field(
        default_factory=list,
        description='Temporal commands: {"command_type": "START_TIMER", '
        '"start_timer_command_attributes": {...}}.',
    )
    identity: str = Field("", max_length=1000)
    sticky_attributes: StickyExecutionAttributes | None = None
    return_new_workflow_task: bool = False
    force_create_new_workflow_task: bool = False
    binary_checksum: str = ""
    sdk_metadata: dict[str, Any] | None = None
    query_results: dict[str, Any] | None = None
    memo_update: Memo | None = None


class RespondWorkflowTaskCompletedResponse(BaseModel):
    workflow_task: PollWorkflowTaskQueueResponse | None = None
    activity_tasks: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Activities started eagerly for this worker (their commands asked for "
        "request_eager_execution on the workflow's task queue), each as PollActivityTaskQueue "
        "returns one.",
    )


class RespondWorkflowTaskFailedRequest(StrictModel):
    namespace: str | None = None
    task_token: str
    cause: FailedCauseField = WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE  # type: ignore[valid-type]
    failure: dict[str, Any] | None = None
    identity: str = Field("", max_length=1000)
    binary_checksum: str = ""
