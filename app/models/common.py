"""Types shared by the API groups: durations, enums that accept Temporal's spellings,
workflow identity, payload containers and the error body."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from app.engine.events import format_seconds

MAX_ID_LENGTH = 1000
MAX_DURATION = timedelta(days=365 * 100)


class StrictModel(BaseModel):
    """Request bodies reject unknown fields, and text fields reject NUL characters (which
    PostgreSQL cannot store); payload values are stored encoded and may hold anything."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


_DURATION = re.compile(r"^(-?)(\d+)(?:\.(\d{1,9}))?s$")


def parse_duration(value: Any) -> Any:
    """Proto-JSON durations: ``"10s"``, ``"1.5s"``. Negative or malformed ones are refused."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("must be a duration string such as '10s' or '1.5s'")
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError(f"invalid duration {value!r}; use seconds with an 's' suffix, e.g. '10s'")
    if match.group(1):
        raise ValueError(f"duration {value!r} must not be negative")
    seconds = int(match.group(2))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {value[:40]!r} is longer than 100 years")
    fraction = match.group(3) or "0"
    return timedelta(seconds=seconds, microseconds=int(fraction.ljust(9, "0")[:6]))


def format_duration(value: timedelta) -> str:
    return format_seconds(value.total_seconds())


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,9})?s$", "examples": ["10s"]}),
]

E = TypeVar("E", bound=Enum)


def proto_enum(enum_cls: type[E], prefix: str) -> Any:
    """An enum field that takes the short name (``ALLOW_DUPLICATE``), the full proto name
    (``WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE``) or the proto number, and answers with
    the short name. Proto's UNSPECIFIED (0) means "not set" and reads as None."""
    members = list(enum_cls)

    def normalize(value: Any) -> Any:
        if value is None or isinstance(value, enum_cls):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if value == 0:
                return None
            if 1 <= value <= len(members):
                return members[value - 1]
            raise ValueError(f"unknown {enum_cls.__name__} number {value}")
        if isinstance(value, str):
            name = value.strip().upper()
            if name.startswith(prefix):
                name = name[len(prefix) :]
            if name == "UNSPECIFIED":
                return None
            for member in members:
                if member.value == name:
                    return member
        allowed = ", ".join(m.value for m in members)
        raise ValueError(f"unknown {enum_cls.__name__} {value!r}; expected one of {allowed}")

    return Annotated[enum_cls | None, BeforeValidator(normalize)]


def _check_id(value: str, what: str, *, required: bool = True) -> str:
    if required and not value.strip():
        raise ValueError(f"{what} is required and cannot be empty")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    return value


class WorkflowType(StrictModel):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_id(value, "workflow_type.name")


class TaskQueue(StrictModel):
    name: str
    kind: str | None = Field(None, description="NORMAL (default) or STICKY.")
    normal_name: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _check_id(value, "task_queue.name")
        if value.startswith("/_sys/"):
            raise ValueError("task queue names starting with '/_sys/' are reserved")
        return value


def _task_queue_from_string(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


TaskQueueField = Annotated[TaskQueue, BeforeValidator(_task_queue_from_string)]


class WorkflowExecution(StrictModel):
    workflow_id: str
    run_id: str = ""

    @field_validator("workflow_id")
    @classmethod
    def _workflow_id(cls, value: str) -> str:
        return _check_id(value, "workflow_id")

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str) -> str:
        return _check_id(value, "run_id", required=False)


class PayloadValue(StrictModel):
    """One value of a memo, header or search-attribute map, as the spec writes it."""

    data: Any = None


class Memo(StrictModel):
    fields: dict[str, PayloadValue] = Field(default_factory=dict)


class Header(StrictModel):
    fields: dict[str, PayloadValue] = Field(default_factory=dict)


class SearchAttributes(StrictModel):
    indexed_fields: dict[str, PayloadValue] = Field(default_factory=dict)


class RetryPolicy(StrictModel):
    initial_interval: Duration | None = None
    backoff_coefficient: float | None = None
    maximum_interval: Duration | None = None
    maximum_attempts: int | None = None
    non_retryable_error_types: list[str] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str


class ErrorBody(BaseModel):
    code: str = Field(examples=["INVALID_ARGUMENT"])
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The spec's error envelope."""

    error: ErrorBody


class HistoryEvent(BaseModel):
    """A history event in Temporal's shape: the envelope plus exactly one
    ``<event_type>_event_attributes`` member."""

    model_config = ConfigDict(extra="allow")
    event_id: int
    event_time: str
    event_type: str
    version: int = 0
    task_id: int = 0
