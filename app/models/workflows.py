"""Workflow execution API schemas: start, describe, signal, cancel, terminate, history."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from app.models.common import (
    Duration,
    Header,
    HistoryEvent,
    Memo,
    RetryPolicy,
    SearchAttributes,
    StrictModel,
    TaskQueueField,
    WorkflowExecution,
    WorkflowType,
    proto_enum,
)


class WorkflowIdReusePolicy(StrEnum):
    ALLOW_DUPLICATE = "ALLOW_DUPLICATE"
    ALLOW_DUPLICATE_FAILED_ONLY = "ALLOW_DUPLICATE_FAILED_ONLY"
    REJECT_DUPLICATE = "REJECT_DUPLICATE"
    TERMINATE_IF_RUNNING = "TERMINATE_IF_RUNNING"


class WorkflowIdConflictPolicy(StrEnum):
    FAIL = "FAIL"
    USE_EXISTING = "USE_EXISTING"
    TERMINATE_EXISTING = "TERMINATE_EXISTING"


class HistoryEventFilterType(StrEnum):
    ALL_EVENT = "ALL_EVENT"
    CLOSE_EVENT = "CLOSE_EVENT"


ReusePolicyField = proto_enum(WorkflowIdReusePolicy, "WORKFLOW_ID_REUSE_POLICY_")
ConflictPolicyField = proto_enum(WorkflowIdConflictPolicy, "WORKFLOW_ID_CONFLICT_POLICY_")
HistoryFilterField = proto_enum(HistoryEventFilterType, "HISTORY_EVENT_FILTER_TYPE_")


class StartWorkflowExecutionRequest(StrictModel):
    @field_validator("workflow_id")
    @classmethod
    def _workflow_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("workflow_id is required and cannot be empty")
        return value

    namespace: str | None = Field(None, description="Must equal the path's namespace if given.")
    workflow_id: str = Field(max_length=1000)
    workflow_type: WorkflowType
    task_queue: TaskQueueField = Field(description="A name, or {name, kind}.")
    input: Any = Field(None, description="Any JSON value, passed to the workflow as-is.")
    workflow_execution_timeout: Duration | None = Field(
        None, description="Whole chain of runs; 0 or absent means unlimited."
    )
    workflow_run_timeout: Duration | None = Field(
        None, description="One run; defaults to the execution timeout and never exceeds it."
    )
    workflow_task_timeout: Duration | None = Field(
        None, description="Workflow task start-to-close; default 10s, at most 120s."
    )
    identity: str = Field("", max_length=1000)
    request_id: str = Field(
        "", max_length=1000, description="Idempotency key: a retried start returns the same run."
    )
    workflow_id_reuse_policy: ReusePolicyField | None = None  # type: ignore[valid-type]
    workflow_id_conflict_policy: ConflictPolicyField | None = None  # type: ignore[valid-type]
    retry_policy: RetryPolicy | None = None
    cron_schedule: str = Field("", max_length=1000)
    workflow_start_delay: Duration | None = Field(
        None, description="Delay before the first workflow task; not with cron_schedule."
    )
    memo: Memo | None = None
    search_attributes: SearchAttributes | None = None
    header: Header | None = None


class SignalWithStartWorkflowExecutionRequest(StartWorkflowExecutionRequest):
    """The start fields plus the signal. The conflict policy defaults to USE_EXISTING
    (signal the running run) and FAIL is invalid, as in Temporal."""

    workflow_id: str = Field(
        "", max_length=1000, description="Must equal the path's workflow_id if given."
    )
    request_id: str = Field(
        "",
        max_length=1000,
        description="Names the start and the signal: a retry while the run is open "
        "returns its run_id and records no second signal.",
    )
    # Declared again (same type) only so that mypy's pydantic plugin, which would report
    # the inherited field's type on no line at all, reports it here, where it is ignored.
    workflow_id_reuse_policy: ReusePolicyField | None = None  # type: ignore[valid-type]
    workflow_id_conflict_policy: ConflictPolicyField | None = None  # type: ignore[valid-type]
    signal_name: str = Field(min_length=1, max_length=1000)
    signal_input: Any = Field(None, description="Any JSON value, the signal's input.")
    control: str = Field("", max_length=1000, description="Deprecated in Temporal; ignored.")


class StartWorkflowExecutionResponse(BaseModel):
    run_id: str
    started: bool


class SignalWorkflowExecutionRequest(StrictModel):
    namespace: str | None = None
    workflow_execution: WorkflowExecution | None = Field(
        None, description="Must agree with the path if given."
    )
    signal_name: str = Field(min_length=1, max_length=1000)
    input: Any = None
    identity: str = Field("", max_length=1000)
    request_id: str = Field(
        "", max_length=1000, description="A repeated request_id is applied once."
    )
    control: str = ""
    header: Header | None = None


class RequestCancelWorkflowExecutionRequest(StrictModel):
    namespace: str | None = None
    workflow_execution: WorkflowExecution | None = None
    identity: str = Field("", max_length=1000)
    request_id: str = Field("", max_length=1000)
    reason: str = ""
    first_execution_run_id: str = ""


class TerminateWorkflowExecutionRequest(StrictModel):
    namespace: str | None = None
    workflow_execution: WorkflowExecution | None = None
    reason: str = ""
    details: Any = None
    identity: str = Field("", max_length=1000)
    first_execution_run_id: str = ""


class EmptyResponse(BaseModel):
    pass


class ExecutionRef(BaseModel):
    workflow_id: str
    run_id: str


class WorkflowTypeOut(BaseModel):
    name: str


class WorkflowExecutionInfo(BaseModel):
    execution: ExecutionRef
    type: WorkflowTypeOut
    start_time: str
    close_time: str | None = None
    status: str
    history_length: int
    history_size_bytes: int = 0
    state_transition_count: int = 0
    execution_time: str
    memo: dict[str, Any] = Field(default_factory=dict)
    search_attributes: dict[str, Any] = Field(default_factory=dict)
    task_queue: str
    first_run_id: str
    parent_namespace_id: str | None = None
    parent_execution: ExecutionRef | None = None
    root_execution: ExecutionRef


class TaskQueueOut(BaseModel):
    name: str
    kind: str = "NORMAL"


class WorkflowExecutionConfig(BaseModel):
    task_queue: TaskQueueOut
    workflow_execution_timeout: str
    workflow_run_timeout: str
    default_workflow_task_timeout: str


class PendingWorkflowTaskInfo(BaseModel):
    state: str
    scheduled_time: str
    started_time: str | None = None
    attempt: int


class WorkflowExtendedInfo(BaseModel):
    execution_expiration_time: str | None = None
    run_expiration_time: str | None = None
    cancel_requested: bool = False
    original_start_time: str


class PendingActivityInfo(BaseModel):
    activity_id: str
    activity_type: WorkflowTypeOut
    state: str = Field(description="SCHEDULED, STARTED or CANCEL_REQUESTED.")
    heartbeat_details: Any = None
    last_heartbeat_time: str | None = None
    last_started_time: str | None = None
    attempt: int
    maximum_attempts: int = Field(description="0: unlimited.")
    scheduled_time: str
    last_failure: dict[str, Any] | None = None
    last_worker_identity: str = ""


class PendingChildExecutionInfo(BaseModel):
    workflow_id: str
    run_id: str = Field(description="Empty until the child has started.")
    workflow_type_name: str
    initiated_id: int
    parent_close_policy: str | None = None


class GetWorkflowExecutionResponse(BaseModel):
    execution_info: WorkflowExecutionInfo
    execution_config: WorkflowExecutionConfig
    pending_workflow_task: PendingWorkflowTaskInfo | None = None
    pending_activities: list[PendingActivityInfo] = Field(default_factory=list)
    pending_children: list[PendingChildExecutionInfo] = Field(default_factory=list)
    workflow_extended_info: WorkflowExtendedInfo
    workflow_execution_history: list[HistoryEvent]
    next_page_token: str = ""


class GetWorkflowExecutionHistoryResponse(BaseModel):
    history: list[HistoryEvent]
    next_page_token: str = Field("", description="Opaque; empty when there is nothing more.")
    archived: bool = False


class WorkflowResultResponse(BaseModel):
    """A run's outcome. ``status`` is RUNNING when it did not close within the wait."""

    workflow_id: str
    run_id: str
    status: str = Field(
        description="RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, "
        "TIMED_OUT or CONTINUED_AS_NEW."
    )
    result: Any = None
    failure: dict[str, Any] | None = None
    details: Any = None
    retry_state: str | None = None
    new_execution_run_id: str | None = None
    close_time: str | None = None
    close_event: HistoryEvent | None = None
