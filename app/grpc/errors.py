"""The one error type (ApiError) as a gRPC status: Temporal's status code, and in the
``grpc-status-details-bin`` trailer a google.rpc.Status whose first detail is the
errordetails message the SDKs unpack into their typed exceptions. A domain error is
never UNKNOWN or INTERNAL: the SDKs retry those."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from temporalio.api.enums.v1 import failed_cause_pb2
from temporalio.api.errordetails.v1 import message_pb2 as details

from app.errors import ApiError, ErrorCode

STATUS: dict[ErrorCode, grpc.StatusCode] = {
    ErrorCode.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    ErrorCode.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorCode.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.ABORTED: grpc.StatusCode.ABORTED,
    ErrorCode.OUT_OF_RANGE: grpc.StatusCode.OUT_OF_RANGE,
    ErrorCode.UNIMPLEMENTED: grpc.StatusCode.UNIMPLEMENTED,
    ErrorCode.INTERNAL: grpc.StatusCode.INTERNAL,
    ErrorCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorCode.DATA_LOSS: grpc.StatusCode.DATA_LOSS,
    ErrorCode.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorCode.WORKFLOW_EXECUTION_ALREADY_STARTED: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.WORKFLOW_EXECUTION_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    # Temporal answers a signal or terminate of a closed run with NotFound.
    ErrorCode.WORKFLOW_EXECUTION_COMPLETED: grpc.StatusCode.NOT_FOUND,
    ErrorCode.WORKFLOW_TASK_TIMEOUT: grpc.StatusCode.NOT_FOUND,
    ErrorCode.ACTIVITY_TASK_TIMEOUT: grpc.StatusCode.NOT_FOUND,
    ErrorCode.NAMESPACE_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.TASK_QUEUE_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
}

_CLUSTER = "active"


def _detail(error: ApiError) -> Message | None:
    first: dict[str, Any] = error.details[0] if error.details else {}
    kind = first.get("type")
    if error.code == ErrorCode.WORKFLOW_EXECUTION_ALREADY_STARTED:
        return details.WorkflowExecutionAlreadyStartedFailure(
            start_request_id=first.get("start_request_id") or "", run_id=first.get("run_id") or ""
        )
    if error.code == ErrorCode.NAMESPACE_NOT_FOUND:
        return details.NamespaceNotFoundFailure(namespace=first.get("namespace", ""))
    if STATUS[error.code] == grpc.StatusCode.NOT_FOUND:
        return details.NotFoundFailure(current_cluster=_CLUSTER, active_cluster=_CLUSTER)
    if error.code == ErrorCode.PERMISSION_DENIED:
        return details.PermissionDeniedFailure(reason=error.message)
    if error.code == ErrorCode.RESOURCE_EXHAUSTED:
        causes = failed_cause_pb2.ResourceExhaustedCause
        concurrent = "concurrent" in error.message.lower()
        return details.ResourceExhaustedFailure(
            cause=causes.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT
            if concurrent
            else causes.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT
        )
    if kind == "QueryFailed":
        return details.QueryFailedFailure()
    if kind == "NamespaceAlreadyExists" or (
        error.code == ErrorCode.ALREADY_EXISTS and "namespace" in error.message.lower()
    ):
        return details.NamespaceAlreadyExistsFailure()
    if kind == "WorkflowNotReady":
        return details.WorkflowNotReadyFailure()
    return None


def status_of(error: ApiError) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]:
    """The status code, message and trailing metadata that carry ``error``."""
    code = STATUS[error.code]
    status = status_pb2.Status(code=code.value[0], message=error.message)
    detail = _detail(error)
    if detail is not None:
        status.details.add().Pack(detail)
    return code, error.message, (("grpc-status-details-bin", status.SerializeToString()),)
