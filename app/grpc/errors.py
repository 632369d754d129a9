"""The one error type (ApiError) as a gRPC status: Temporal's status code, and in the
``grpc-status-details-bin`` trailer a google.rpc.Status whose first detail is the
errordetails message the SDKs unpack into their typed exceptions. A domain error is
never UNKNOWN or INTERNAL: the SDKs retry those. Each detail is chosen by the error's
code and the typed detail the service attached (never by the wording of its message),
and carries what that detail says (checked against Temporal's dev server)."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from temporalio.api.enums.v1 import failed_cause_pb2, namespace_pb2
from temporalio.api.errordetails.v1 import message_pb2 as details
from temporalio.api.failure.v1 import message_pb2 as failure_messages

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
    # ... and the answer to a task that timed out with NotFound ("task not found").
    ErrorCode.WORKFLOW_TASK_TIMEOUT: grpc.StatusCode.NOT_FOUND,
    ErrorCode.ACTIVITY_TASK_TIMEOUT: grpc.StatusCode.NOT_FOUND,
    ErrorCode.NAMESPACE_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.TASK_QUEUE_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
}

_CLUSTER = "active"  # the cluster name Temporal's dev server reports

_CAUSES = failed_cause_pb2.ResourceExhaustedCause
_SCOPES = failed_cause_pb2.ResourceExhaustedScope


def _typed(error: ApiError, kind: str) -> dict[str, Any] | None:
    """The error's detail of this type, if it carries one."""
    return next((d for d in error.details if d.get("type") == kind), None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _resource_exhausted(error: ApiError) -> details.ResourceExhaustedFailure:
    """Why and on whose budget: a per-second-or-longer budget is RPS_LIMIT, a cap on
    what runs at once (long-poll slots, running executions) CONCURRENT_LIMIT, too many
    queries waiting for one workflow BUSY_WORKFLOW. A namespace's budget is the
    namespace's; the cluster's is the system's."""
    busy = _typed(error, "ResourceExhausted")
    if busy is not None and busy.get("cause") == "BUSY_WORKFLOW":
        return details.ResourceExhaustedFailure(
            cause=_CAUSES.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW,
            scope=_SCOPES.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        )
    limited = _typed(error, "RateLimitExceeded") or {}
    scope = _text(limited.get("scope"))
    cause = (
        _CAUSES.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT
        if limited.get("window") == "concurrent"
        else _CAUSES.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT
    )
    if scope.startswith("namespace:"):
        where = _SCOPES.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE
    elif scope == "cluster":
        where = _SCOPES.RESOURCE_EXHAUSTED_SCOPE_SYSTEM
    else:  # a client's own budget, or a task queue's: neither of Temporal's two scopes
        where = _SCOPES.RESOURCE_EXHAUSTED_SCOPE_UNSPECIFIED
    return details.ResourceExhaustedFailure(cause=cause, scope=where)


def _failure(rendered: Any) -> failure_messages.Failure:
    """A worker's query failure as Temporal's Failure: its text (message, source, stack
    trace, application error type) and causes. Its payloads are left out: the detail
    holds them as REST shows them, no longer as they were encoded."""
    if not isinstance(rendered, dict):
        return failure_messages.Failure()
    failure = failure_messages.Failure(
        message=_text(rendered.get("message")),
        source=_text(rendered.get("source")),
        stack_trace=_text(rendered.get("stack_trace")),
    )
    info = rendered.get("application_failure_info")
    if isinstance(info, dict):
        failure.application_failure_info.type = _text(info.get("type"))
        failure.application_failure_info.non_retryable = info.get("non_retryable") is True
    if isinstance(rendered.get("cause"), dict):
        failure.cause.CopyFrom(_failure(rendered["cause"]))
    return failure


def _namespace_state(name: Any) -> namespace_pb2.NamespaceState.ValueType:
    full = f"NAMESPACE_STATE_{name}"
    states = namespace_pb2.NamespaceState
    known = full in states.DESCRIPTOR.values_by_name
    return states.Value(full) if known else states.NAMESPACE_STATE_UNSPECIFIED


def _detail(error: ApiError) -> Message | None:
    code = error.code
    if code is ErrorCode.WORKFLOW_EXECUTION_ALREADY_STARTED:
        started = _typed(error, "WorkflowExecutionAlreadyStarted") or {}
        return details.WorkflowExecutionAlreadyStartedFailure(
            start_request_id=_text(started.get("start_request_id")),
            run_id=_text(started.get("run_id")),
            first_execution_run_id=_text(started.get("first_execution_run_id")),
        )
    if code is ErrorCode.NAMESPACE_NOT_FOUND:
        missing = _typed(error, "NamespaceNotFound") or {}
        return details.NamespaceNotFoundFailure(namespace=_text(missing.get("namespace")))
    if STATUS[code] is grpc.StatusCode.NOT_FOUND:
        return details.NotFoundFailure(current_cluster=_CLUSTER, active_cluster=_CLUSTER)
    if code is ErrorCode.PERMISSION_DENIED:
        return details.PermissionDeniedFailure(reason=error.message)
    if code is ErrorCode.RESOURCE_EXHAUSTED:
        return _resource_exhausted(error)
    query_failed = _typed(error, "QueryFailed")
    if query_failed is not None:
        return details.QueryFailedFailure(failure=_failure(query_failed.get("failure")))
    if _typed(error, "NamespaceAlreadyExists") is not None:
        return details.NamespaceAlreadyExistsFailure()
    invalid = _typed(error, "NamespaceInvalidState")
    if invalid is not None:
        allowed = invalid.get("allowed_states")
        return details.NamespaceInvalidStateFailure(
            namespace=_text(invalid.get("namespace")),
            state=_namespace_state(invalid.get("state")),
            allowed_states=[_namespace_state(s) for s in allowed]
            if isinstance(allowed, list)
            else [],
        )
    if _typed(error, "WorkflowNotReady") is not None:
        return details.WorkflowNotReadyFailure()
    return None


def _message(error: ApiError) -> str:
    """The status message. A failed query's is the worker's own message, as Temporal's
    (the SDKs raise it as the query's error: WorkflowQueryFailedError's message)."""
    query_failed = _typed(error, "QueryFailed")
    if query_failed is not None:
        failure = query_failed.get("failure")
        worker_message = _text(failure.get("message")) if isinstance(failure, dict) else ""
        if worker_message:
            return worker_message
    return error.message


def status_of(error: ApiError) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]:
    """The status code, message and trailing metadata that carry ``error``."""
    code = STATUS[error.code]
    message = _message(error)
    status = status_pb2.Status(code=code.value[0], message=message)
    detail = _detail(error)
    if detail is not None:
        status.details.add().Pack(detail)
    return code, message, (("grpc-status-details-bin", status.SerializeToString()),)
