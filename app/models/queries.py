"""Query API schemas: QueryWorkflow, and the worker's answers to queries."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.models.common import Header, StrictModel, WorkflowExecution, proto_enum


class QueryRejectCondition(StrEnum):
    NONE = "NONE"
    NOT_OPEN = "NOT_OPEN"
    NOT_COMPLETED_CLEANLY = "NOT_COMPLETED_CLEANLY"


class QueryResultType(StrEnum):
    ANSWERED = "ANSWERED"
    FAILED = "FAILED"


RejectConditionField = proto_enum(QueryRejectCondition, "QUERY_REJECT_CONDITION_")
ResultTypeField = proto_enum(QueryResultType, "QUERY_RESULT_TYPE_")


class WorkflowQuery(StrictModel):
    query_type: str = Field(min_length=1, max_length=1000)
    query_args: Any = None
    header: Header | None = None


class QueryWorkflowRequest(StrictModel):
    namespace: str | None = None
    execution: WorkflowExecution | None = Field(None, description="Must agree with the path.")
    query: WorkflowQuery
    query_reject_condition: RejectConditionField = None  # type: ignore[valid-type]


class QueryRejected(BaseModel):
    status: str


class QueryWorkflowResponse(BaseModel):
    query_result: Any = None
    query_rejected: QueryRejected | None = None


class RespondQueryTaskCompletedRequest(StrictModel):
    namespace: str | None = None
    task_token: str
    completed_type: ResultTypeField = QueryResultType.ANSWERED  # type: ignore[valid-type]
    query_result: Any = None
    error_message: str = ""
    failure: dict[str, Any] | None = None
