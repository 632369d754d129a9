"""The workflow client RPCs: start, signal, signal-with-start, query, describe, history,
cancel and terminate, each a thin adapter over the service REST's route calls."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.enums.v1 import workflow_pb2 as workflow_enums
from temporalio.api.history.v1 import message_pb2 as history_messages
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf

from app.context import AppContext
from app.grpc.convert import (
    from_json,
    payload_map_in,
    payloads_in,
    refuse_unserved,
    seconds_in,
    token_in,
)
from app.grpc.door import Call
from app.grpc.registry import WORKFLOW_SERVICE
from app.grpc.typed_attributes import registered_types, type_events, type_fields
from app.models.common import WorkflowExecution
from app.models.queries import QueryWorkflowRequest
from app.models.workflows import (
    HistoryEventFilterType,
    RequestCancelWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from app.permissions import Permission
from app.rate_limits.rules import Limit
from app.services import descriptions, history, queries, workflows
from app.services.descriptions import raw

# A long poll answers before the SDKs' 70 s deadline, and within a deadline the caller
# set (less this margin, for the answer to travel).
DEADLINE_MARGIN_SECONDS = 1.0


def _enum_name(enum: Any, value: int) -> str | int | None:
    """The value's full name, as the request models take it; a number the proto does
    not define is passed on as it came, for the model to refuse (INVALID_ARGUMENT)."""
    if not value:
        return None
    try:
        return str(enum.Name(value))
    except ValueError:
        return value


def checked_execution(execution: common.WorkflowExecution) -> WorkflowExecution:
    """The ids a request names, checked as REST checks them in its path (required,
    length, no NUL): INVALID_ARGUMENT naming the field otherwise."""
    return WorkflowExecution.model_validate(
        {"workflow_id": execution.workflow_id, "run_id": execution.run_id}
    )


def _retry_policy(request: Any) -> dict[str, Any] | None:
    if not request.HasField("retry_policy"):
        return None
    policy = request.retry_policy
    return {
        "initial_interval": seconds_in(policy.initial_interval),
        "backoff_coefficient": policy.backoff_coefficient or None,
        "maximum_interval": seconds_in(policy.maximum_interval),
        "maximum_attempts": policy.maximum_attempts or None,
        "non_retryable_error_types": list(policy.non_retryable_error_types),
    }


# The fields each request's adapter maps; any other set field is refused.
START_FIELDS = frozenset(
    {
        "namespace",
        "workflow_id",
        "workflow_type",
        "task_queue",
        "input",
        "workflow_execution_timeout",
        "workflow_run_timeout",
        "workflow_task_timeout",
        "identity",
        "request_id",
        "workflow_id_reuse_policy",
        "workflow_id_conflict_policy",
        "retry_policy",
        "cron_schedule",
        "workflow_start_delay",
        "memo",
        "search_attributes",
        "header",
        # Answered without an eager workflow task, as Temporal may; the SDK then polls.
        "request_eager_execution",
    }
)
SIGNAL_WITH_START_FIELDS = START_FIELDS | {"signal_name", "signal_input", "control"}
SIGNAL_FIELDS = frozenset(
    {
        "namespace",
        "workflow_execution",
        "signal_name",
        "input",
        "identity",
        "request_id",
        "control",
        "header",
    }
)
CANCEL_FIELDS = frozenset(
    {
        "namespace",
        "workflow_execution",
        "identity",
        "request_id",
        "reason",
        "first_execution_run_id",
    }
)
TERMINATE_FIELDS = frozenset(
    {"namespace", "workflow_execution", "reason", "details", "identity", "first_execution_run_id"}
)


def _start_fields(request: Any) -> dict[str, Any]:
    """The fields StartWorkflowExecution and SignalWithStart share, as the request
    models take them; payloads verbatim."""
    search_attributes = payload_map_in(request.search_attributes.indexed_fields)
    return {
        "namespace": request.namespace,
        "workflow_id": request.workflow_id,
        "workflow_type": {"name": request.workflow_type.name},
        "task_queue": {"name": request.task_queue.name},
        "input": payloads_in(request.input),
        "workflow_execution_timeout": seconds_in(request.workflow_execution_timeout),
        "workflow_run_timeout": seconds_in(request.workflow_run_timeout),
        "workflow_task_timeout": seconds_in(request.workflow_task_timeout),
        "identity": request.identity,
        "request_id": request.request_id,
        "workflow_id_reuse_policy": _enum_name(
            workflow_enums.WorkflowIdReusePolicy, request.workflow_id_reuse_policy
        ),
        "workflow_id_conflict_policy": _enum_name(
            workflow_enums.WorkflowIdConflictPolicy, request.workflow_id_conflict_policy
        ),
        "retry_policy": _retry_policy(request),
        "cron_schedule": request.cron_schedule,
        "workflow_start_delay": seconds_in(request.workflow_start_delay),
        "memo": payload_map_in(request.memo.fields),
        "search_attributes": {"indexed_fields": search_attributes["fields"]}
        if search_attributes
        else None,
        "header": payload_map_in(request.header.fields),
    }


@WORKFLOW_SERVICE.rpc(
    "StartWorkflowExecution", Permission.WORKFLOW_START, Limit.WORKFLOW_STARTS, Limit.HISTORY_EVENTS
)
async def start_workflow_execution(
    ctx: AppContext, request: wf.StartWorkflowExecutionRequest, call: Call
) -> wf.StartWorkflowExecutionResponse:
    """``request_eager_execution`` is answered without an eager workflow task (Temporal
    may leave it out too); the SDK then polls for the task as usual."""
    refuse_unserved(request, START_FIELDS)
    body = StartWorkflowExecutionRequest.model_validate(_start_fields(request))
    started = await workflows.start_workflow(ctx, request.namespace, body)
    return wf.StartWorkflowExecutionResponse(run_id=started.run_id, started=started.started)


@WORKFLOW_SERVICE.rpc(
    "SignalWithStartWorkflowExecution",
    Permission.WORKFLOW_START,
    Limit.WORKFLOW_STARTS,
    Limit.HISTORY_EVENTS,
)
async def signal_with_start_workflow_execution(
    ctx: AppContext, request: wf.SignalWithStartWorkflowExecutionRequest, call: Call
) -> wf.SignalWithStartWorkflowExecutionResponse:
    refuse_unserved(request, SIGNAL_WITH_START_FIELDS)
    fields = _start_fields(request)
    fields.update(
        signal_name=request.signal_name,
        signal_input=payloads_in(request.signal_input),
        control=request.control,
    )
    body = SignalWithStartWorkflowExecutionRequest.model_validate(fields)
    started = await workflows.signal_with_start_workflow(ctx, request.namespace, body)
    return wf.SignalWithStartWorkflowExecutionResponse(
        run_id=started.run_id, started=started.started
    )


@WORKFLOW_SERVICE.rpc("SignalWorkflowExecution", Permission.WORKFLOW_SIGNAL, Limit.HISTORY_EVENTS)
async def signal_workflow_execution(
    ctx: AppContext, request: wf.SignalWorkflowExecutionRequest, call: Call
) -> wf.SignalWorkflowExecutionResponse:
    refuse_unserved(request, SIGNAL_FIELDS)
    execution = checked_execution(request.workflow_execution)
    body = SignalWorkflowExecutionRequest.model_validate(
        {
            "signal_name": request.signal_name,
            "input": payloads_in(request.input),
            "identity": request.identity,
            "request_id": request.request_id,
            "control": request.control,
            "header": payload_map_in(request.header.fields),
        }
    )
    await workflows.signal_workflow(
        ctx, request.namespace, execution.workflow_id, execution.run_id, body
    )
    return wf.SignalWorkflowExecutionResponse()


@WORKFLOW_SERVICE.rpc(
    "RequestCancelWorkflowExecution", Permission.WORKFLOW_CANCEL, Limit.HISTORY_EVENTS
)
async def request_cancel_workflow_execution(
    ctx: AppContext, request: wf.RequestCancelWorkflowExecutionRequest, call: Call
) -> wf.RequestCancelWorkflowExecutionResponse:
    refuse_unserved(request, CANCEL_FIELDS)
    execution = checked_execution(request.workflow_execution)
    body = RequestCancelWorkflowExecutionRequest.model_validate(
        {
            "identity": request.identity,
            "request_id": request.request_id,
            "reason": request.reason,
            "first_execution_run_id": request.first_execution_run_id,
        }
    )
    await workflows.request_cancel_workflow(
        ctx, request.namespace, execution.workflow_id, execution.run_id, body
    )
    return wf.RequestCancelWorkflowExecutionResponse()


@WORKFLOW_SERVICE.rpc(
    "TerminateWorkflowExecution", Permission.WORKFLOW_TERMINATE, Limit.HISTORY_EVENTS
)
async def terminate_workflow_execution(
    ctx: AppContext, request: wf.TerminateWorkflowExecutionRequest, call: Call
) -> wf.TerminateWorkflowExecutionResponse:
    refuse_unserved(request, TERMINATE_FIELDS)
    execution = checked_execution(request.workflow_execution)
    body = TerminateWorkflowExecutionRequest.model_validate(
        {
            "reason": request.reason,
            "details": payloads_in(request.details),
            "identity": request.identity,
            "first_execution_run_id": request.first_execution_run_id,
        }
    )
    await workflows.terminate_workflow(
        ctx, request.namespace, execution.workflow_id, execution.run_id, body
    )
    return wf.TerminateWorkflowExecutionResponse()


@WORKFLOW_SERVICE.rpc("QueryWorkflow", Permission.WORKFLOW_QUERY)
async def query_workflow(
    ctx: AppContext, request: wf.QueryWorkflowRequest, call: Call
) -> wf.QueryWorkflowResponse:
    execution, query = checked_execution(request.execution), request.query
    body = QueryWorkflowRequest.model_validate(
        {
            "query": {
                "query_type": query.query_type,
                "query_args": payloads_in(query.query_args),
                "header": payload_map_in(query.header.fields),
            },
            "query_reject_condition": request.query_reject_condition or None,
        }
    )
    answer = await queries.query_workflow(
        ctx, request.namespace, execution.workflow_id, execution.run_id, body
    )
    return from_json(answer, wf.QueryWorkflowResponse())


@WORKFLOW_SERVICE.rpc("DescribeWorkflowExecution", Permission.WORKFLOW_READ)
async def describe_workflow_execution(
    ctx: AppContext, request: wf.DescribeWorkflowExecutionRequest, call: Call
) -> wf.DescribeWorkflowExecutionResponse:
    execution = checked_execution(request.execution)
    described = await descriptions.describe_workflow(
        ctx, request.namespace, execution.workflow_id, execution.run_id, raw
    )
    described["workflow_execution_info"] = described.pop("execution_info")
    response = from_json(described, wf.DescribeWorkflowExecutionResponse())
    types = await registered_types(ctx, request.namespace)
    type_fields(response.workflow_execution_info.search_attributes, types)
    return response


async def history_of(
    ctx: AppContext, namespace: str, events: list[dict[str, Any]]
) -> history_messages.History:
    shown = history_messages.History(
        events=[from_json(event, history_messages.HistoryEvent()) for event in events]
    )
    type_events(shown.events, await registered_types(ctx, namespace))
    return shown


def _window(ctx: AppContext, call: Call) -> float:
    window = ctx.settings.history_long_poll_seconds
    left = call.seconds_left()
    return window if left is None else max(0.0, min(window, left - DEADLINE_MARGIN_SECONDS))


@WORKFLOW_SERVICE.rpc("GetWorkflowExecutionHistory", Permission.WORKFLOW_READ)
async def get_workflow_execution_history(
    ctx: AppContext, request: wf.GetWorkflowExecutionHistoryRequest, call: Call
) -> wf.GetWorkflowExecutionHistoryResponse:
    """With ``wait_new_event`` the wait is bounded even when the caller set no deadline;
    its end is an empty page whose token continues it, on which the SDKs loop."""
    execution = checked_execution(request.execution)
    close_only = (
        request.history_event_filter_type == workflow_enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
    )
    page = await history.read_history(
        ctx,
        request.namespace,
        execution.workflow_id,
        execution.run_id,
        request.maximum_page_size,
        token_in(request.next_page_token),
        request.wait_new_event,
        HistoryEventFilterType.CLOSE_EVENT if close_only else HistoryEventFilterType.ALL_EVENT,
        _window(ctx, call),
        present=lambda event: event.to_json(),
    )
    return wf.GetWorkflowExecutionHistoryResponse(
        history=await history_of(ctx, request.namespace, page.events),
        next_page_token=page.next_page_token.encode(),
    )


@WORKFLOW_SERVICE.rpc("GetWorkflowExecutionHistoryReverse", Permission.WORKFLOW_READ)
async def get_workflow_execution_history_reverse(
    ctx: AppContext, request: wf.GetWorkflowExecutionHistoryReverseRequest, call: Call
) -> wf.GetWorkflowExecutionHistoryReverseResponse:
    execution = checked_execution(request.execution)
    page = await history.read_history_backwards(
        ctx,
        request.namespace,
        execution.workflow_id,
        execution.run_id,
        request.maximum_page_size,
        token_in(request.next_page_token),
        present=lambda event: event.to_json(),
    )
    return wf.GetWorkflowExecutionHistoryReverseResponse(
        history=await history_of(ctx, request.namespace, page.events),
        next_page_token=page.next_page_token.encode(),
    )
