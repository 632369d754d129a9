"""The one error type. Services raise ApiError; one handler renders the spec's body
``{"error": {"code", "message", "details"}}`` with the status that belongs to the code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from starlette.types import Send


class ErrorCode(StrEnum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"
    DATA_LOSS = "DATA_LOSS"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    WORKFLOW_EXECUTION_ALREADY_STARTED = "WORKFLOW_EXECUTION_ALREADY_STARTED"
    WORKFLOW_EXECUTION_NOT_FOUND = "WORKFLOW_EXECUTION_NOT_FOUND"
    WORKFLOW_EXECUTION_COMPLETED = "WORKFLOW_EXECUTION_COMPLETED"
    WORKFLOW_TASK_TIMEOUT = "WORKFLOW_TASK_TIMEOUT"
    ACTIVITY_TASK_TIMEOUT = "ACTIVITY_TASK_TIMEOUT"
    NAMESPACE_NOT_FOUND = "NAMESPACE_NOT_FOUND"
    TASK_QUEUE_NOT_FOUND = "TASK_QUEUE_NOT_FOUND"


# Standard codes follow the gRPC-to-HTTP mapping Temporal's HTTP API uses; the
# workflow-specific codes take the status of the standard code they refine.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.RESOURCE_EXHAUSTED: 429,
    ErrorCode.FAILED_PRECONDITION: 400,
    ErrorCode.ABORTED: 409,
    ErrorCode.OUT_OF_RANGE: 400,
    ErrorCode.UNIMPLEMENTED: 501,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.DATA_LOSS: 500,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.WORKFLOW_EXECUTION_ALREADY_STARTED: 409,
    ErrorCode.WORKFLOW_EXECUTION_NOT_FOUND: 404,
    ErrorCode.WORKFLOW_EXECUTION_COMPLETED: 409,
    ErrorCode.WORKFLOW_TASK_TIMEOUT: 409,
    ErrorCode.ACTIVITY_TASK_TIMEOUT: 409,
    ErrorCode.NAMESPACE_NOT_FOUND: 404,
    ErrorCode.TASK_QUEUE_NOT_FOUND: 404,
}


class ApiError(Exception):
    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def body(self) -> dict[str, Any]:
        return {
            "error": {"code": self.code.value, "message": self.message, "details": self.details}
        }


async def send_error(
    send: Send, error: ApiError, extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer ``error`` from an ASGI middleware, where the app's handlers do not reach:
    the same envelope and status they would give."""
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.encode(), value.encode()) for name, value in error.headers.items()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bad_request(field: str, description: str) -> ApiError:
    """INVALID_ARGUMENT naming the offending field, in the spec's BadRequest detail."""
    return ApiError(
        ErrorCode.INVALID_ARGUMENT,
        description,
        [{"type": "BadRequest", "field": field, "description": description}],
    )


def namespace_not_found(name: str) -> ApiError:
    return ApiError(
        ErrorCode.NAMESPACE_NOT_FOUND,
        f"Namespace {name!r} is not found.",
        [{"type": "NamespaceNotFound", "namespace": name}],
    )


def workflow_not_found(workflow_id: str, run_id: str | None) -> ApiError:
    run = f", run_id {run_id!r}" if run_id else ""
    return ApiError(
        ErrorCode.WORKFLOW_EXECUTION_NOT_FOUND,
        f"Workflow execution not found: workflow_id {workflow_id!r}{run}.",
        [{"type": "WorkflowExecutionNotFound", "workflow_id": workflow_id, "run_id": run_id or ""}],
    )


def workflow_completed(workflow_id: str, run_id: str, status: str) -> ApiError:
    return ApiError(
        ErrorCode.WORKFLOW_EXECUTION_COMPLETED,
        f"Workflow execution already completed (status {status}).",
        [
            {
                "type": "WorkflowExecutionCompleted",
                "workflow_id": workflow_id,
                "run_id": run_id,
                "status": status,
            }
        ],
    )


def permission_denied(message: str) -> ApiError:
    return ApiError(ErrorCode.PERMISSION_DENIED, message, [{"type": "PermissionDenied"}])
