"""Activity worker API schemas: heartbeat and the three outcomes of an attempt."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.models.common import StrictModel


class ActivityTaskRequest(StrictModel):
    namespace: str | None = None
    task_token: str
    identity: str = Field("", max_length=1000)


class RecordActivityTaskHeartbeatRequest(ActivityTaskRequest):
    details: Any = Field(None, description="Kept for the next attempt; any JSON value.")


class RecordActivityTaskHeartbeatResponse(BaseModel):
    cancel_requested: bool


class RespondActivityTaskCompletedRequest(ActivityTaskRequest):
    result: Any = None


class RespondActivityTaskFailedRequest(ActivityTaskRequest):
    failure: dict[str, Any] = Field(
        description="Temporal's Failure: message, source, stack_trace, cause, "
        "application_failure_info {type, non_retryable, details, next_retry_delay}."
    )
    last_heartbeat_details: Any = None


class RespondActivityTaskCanceledRequest(ActivityTaskRequest):
    details: Any = None


class PollActivityTaskQueueResponse(BaseModel):
    """Empty (``task_token`` "") when no task arrived within the window."""

    model_config = {"extra": "allow"}
    task_token: str = ""
    poll_window: str
