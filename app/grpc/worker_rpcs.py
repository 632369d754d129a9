"""The worker RPCs: the long polls for workflow and activity tasks and the answers to
them, each a thin adapter over the service REST's worker routes call (the same
permission and budgets). Tasks are taken with their payloads as stored, so the SDK gets
the bytes it sent. A sticky poll takes from its worker's own queue, where the runs that
worker has cached get their next tasks with only the events it has not seen
(app.engine.sticky)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.enums.v1 import failed_cause_pb2, task_queue_pb2
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf

from app.context import AppContext
from app.errors import bad_request
from app.grpc.commands import (
    commands_in,
    failure_in,
    payloads_or_none,
    query_results_in,
    result_type_name,
    stored_failure,
)
from app.grpc.convert import from_json, to_json, token_in
from app.grpc.delivery import deliver
from app.grpc.door import Call
from app.grpc.registry import WORKFLOW_SERVICE
from app.grpc.workflow_rpcs import DEADLINE_MARGIN_SECONDS, checked_execution, history_of
from app.models.activities import (
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
)
from app.models.queries import RespondQueryTaskCompletedRequest
from app.models.worker import (
    PollTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
)
from app.permissions import Permission
from app.rate_limits.rules import Limit
from app.services import activities, given_back, queries, sticky_queues, workflow_tasks
from app.services.descriptions import raw


def _poll_request(call: Call, request: Any, rate: float | None = None) -> PollTaskQueueRequest:
    """The poll as the services take it (a sticky poll names the queue it serves); its
    window ends before the caller's deadline (the SDKs' is 70 s) and within the server's
    own window."""
    left = call.seconds_left()
    wait = None if left is None else timedelta(seconds=max(0.0, left - DEADLINE_MARGIN_SECONDS))
    queue = request.task_queue
    return PollTaskQueueRequest.model_validate(
        {
            "identity": request.identity,
            "task_queue": {
                "name": queue.name,
                "kind": task_queue_pb2.TaskQueueKind.Name(queue.kind),
                "normal_name": queue.normal_name,
            },
            "wait_timeout": wait,
            "task_queue_metadata": None if rate is None else {"max_tasks_per_second": rate},
        }
    )


def _gone(call: Call) -> asyncio.Event:
    """Set when the call ends (the SDK cancels its polls at shutdown): a poller gone
    away is handed no task, as REST's poller whose connection dropped."""
    gone = asyncio.Event()
    # (grpc-stubs type the callback as a class only a stub can satisfy.)
    call.context.add_done_callback(lambda _: gone.set())  # type: ignore[arg-type]
    return gone


async def _workflow_task(
    ctx: AppContext, namespace: str, task: dict[str, Any]
) -> wf.PollWorkflowTaskQueueResponse:
    """A workflow task as the service gives it (stored shape) in protobuf."""
    fields = dict(task)
    token = fields.pop("task_token", "")
    next_page = fields.pop("next_page_token", "")
    events = fields.pop("history", [])
    response = from_json(fields, wf.PollWorkflowTaskQueueResponse())
    response.task_token = token.encode()
    response.next_page_token = next_page.encode()
    response.history.CopyFrom(await history_of(ctx, namespace, events))
    return response


def _activity_task(task: dict[str, Any]) -> wf.PollActivityTaskQueueResponse:
    fields = dict(task)
    token = fields.pop("task_token", "")
    response = from_json(fields, wf.PollActivityTaskQueueResponse())
    response.task_token = token.encode()
    return response


async def _activity_reply(task: dict[str, Any]) -> wf.PollActivityTaskQueueResponse:
    return _activity_task(task)


@WORKFLOW_SERVICE.rpc(
    "PollWorkflowTaskQueue",
    Permission.WORKER_POLL,
    Limit.TASK_QUEUE_OPERATIONS,
    Limit.LONG_POLLS,
    Limit.HISTORY_EVENTS,
    task_queue_scoped=True,
)
async def poll_workflow_task_queue(
    ctx: AppContext, request: wf.PollWorkflowTaskQueueRequest, call: Call
) -> wf.PollWorkflowTaskQueueResponse:
    """A workflow task (or a query task, with ``query`` set) with the run's history (from
    a sticky queue, only the events since the worker's last task); an empty response
    when none came within the window."""
    namespace, queue, gone = request.namespace, request.task_queue.name, _gone(call)
    return await deliver(
        workflow_tasks.poll(ctx, namespace, queue, _poll_request(call, request), gone, raw),
        lambda task: _workflow_task(ctx, namespace, task),
        lambda task: given_back.give_back_workflow_task(ctx, namespace, queue, task),
        gone,
        wf.PollWorkflowTaskQueueResponse(),
    )


@WORKFLOW_SERVICE.rpc(
    "PollActivityTaskQueue",
    Permission.WORKER_POLL,
    Limit.TASK_QUEUE_OPERATIONS,
    Limit.LONG_POLLS,
    Limit.ACTIVITY_EXECUTIONS,
    task_queue_scoped=True,
)
async def poll_activity_task_queue(
    ctx: AppContext, request: wf.PollActivityTaskQueueRequest, call: Call
) -> wf.PollActivityTaskQueueResponse:
    metadata = request.task_queue_metadata
    rate = (
        metadata.max_tasks_per_second.value if metadata.HasField("max_tasks_per_second") else None
    )
    namespace, gone = request.namespace, _gone(call)
    return await deliver(
        activities.poll(
            ctx,
            namespace,
            request.task_queue.name,
            _poll_request(call, request, rate),
            gone,
            raw,
        ),
        _activity_reply,
        lambda task: given_back.give_back_activity_task(ctx, namespace, task),
        gone,
        wf.PollActivityTaskQueueResponse(),
    )


@WORKFLOW_SERVICE.rpc(
    "RespondWorkflowTaskCompleted",
    Permission.WORKER_RESPOND,
    Limit.HISTORY_EVENTS,
    Limit.ACTIVITY_EXECUTIONS,
)
async def respond_workflow_task_completed(
    ctx: AppContext, request: wf.RespondWorkflowTaskCompletedRequest, call: Call
) -> wf.RespondWorkflowTaskCompletedResponse:
    """The commands applied (a command with bad attributes, or one the gateway does not
    serve, fails the task with its cause: the SDK gets INVALID_ARGUMENT and the next
    attempt). ``sticky_attributes`` make the run's next tasks go to the worker's own
    queue. With ``return_new_workflow_task``, a task the completion scheduled (events
    came in meanwhile) is started and returned inline, saving the worker a poll; so are
    activities asked for eagerly on the run's own queue, in ``activity_tasks``."""
    metadata = to_json(request.sdk_metadata) if request.HasField("sdk_metadata") else None
    body = RespondWorkflowTaskCompletedRequest.model_validate(
        {
            "task_token": token_in(request.task_token),
            "commands": commands_in(request.commands),
            "identity": request.identity,
            "force_create_new_workflow_task": request.force_create_new_workflow_task,
            "return_new_workflow_task": request.return_new_workflow_task,
            "binary_checksum": request.binary_checksum,
            "sdk_metadata": metadata or None,
            "query_results": query_results_in(request.query_results),
            "sticky_attributes": to_json(request.sticky_attributes)
            if request.HasField("sticky_attributes")
            else None,
        }
    )
    answer = await workflow_tasks.respond_completed(
        ctx, request.namespace, call.principal, body, raw
    )
    response = wf.RespondWorkflowTaskCompletedResponse(
        activity_tasks=[_activity_task(task) for task in answer["activity_tasks"]]
    )
    if answer.get("workflow_task"):
        inline = await _workflow_task(ctx, request.namespace, answer["workflow_task"])
        response.workflow_task.CopyFrom(inline)
    return response


@WORKFLOW_SERVICE.rpc("RespondWorkflowTaskFailed", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS)
async def respond_workflow_task_failed(
    ctx: AppContext, request: wf.RespondWorkflowTaskFailedRequest, call: Call
) -> wf.RespondWorkflowTaskFailedResponse:
    body = RespondWorkflowTaskFailedRequest.model_validate(
        {
            "task_token": token_in(request.task_token),
            "cause": failed_cause_pb2.WorkflowTaskFailedCause.Name(request.cause)
            if request.cause
            else None,
            "failure": failure_in(request.failure) if request.HasField("failure") else None,
            "identity": request.identity,
            "binary_checksum": request.binary_checksum,
        }
    )
    await workflow_tasks.respond_failed(ctx, request.namespace, body)
    return wf.RespondWorkflowTaskFailedResponse()


@WORKFLOW_SERVICE.rpc("RespondQueryTaskCompleted", Permission.WORKER_RESPOND)
async def respond_query_task_completed(
    ctx: AppContext, request: wf.RespondQueryTaskCompletedRequest, call: Call
) -> wf.RespondQueryTaskCompletedResponse:
    body = RespondQueryTaskCompletedRequest.model_validate(
        {
            "task_token": token_in(request.task_token),
            "completed_type": result_type_name(request.completed_type),
            "query_result": payloads_or_none(request.query_result),
            "error_message": request.error_message,
            "failure": stored_failure(request.failure) if request.HasField("failure") else None,
        }
    )
    await queries.respond_query_task_completed(ctx, request.namespace, body)
    return wf.RespondQueryTaskCompletedResponse()


# An activity's answers as the services take them, from the token form of each RPC or
# its ``…ById`` twin (the same fields; no token, the activity named by ``_ref``).


def _heartbeat(request: Any, task_token: str = "") -> RecordActivityTaskHeartbeatRequest:
    return RecordActivityTaskHeartbeatRequest.model_validate(
        {
            "task_token": task_token,
            "identity": request.identity,
            "details": payloads_or_none(request.details),
        }
    )


def _completed(request: Any, task_token: str = "") -> RespondActivityTaskCompletedRequest:
    return RespondActivityTaskCompletedRequest.model_validate(
        {
            "task_token": task_token,
            "identity": request.identity,
            "result": payloads_or_none(request.result),
        }
    )


def _failed(request: Any, task_token: str = "") -> RespondActivityTaskFailedRequest:
    return RespondActivityTaskFailedRequest.model_validate(
        {
            "task_token": task_token,
            "identity": request.identity,
            "failure": failure_in(request.failure),
            "last_heartbeat_details": payloads_or_none(request.last_heartbeat_details),
        }
    )


def _canceled(request: Any, task_token: str = "") -> RespondActivityTaskCanceledRequest:
    return RespondActivityTaskCanceledRequest.model_validate(
        {
            "task_token": task_token,
            "identity": request.identity,
            "details": payloads_or_none(request.details),
        }
    )


@WORKFLOW_SERVICE.rpc("RecordActivityTaskHeartbeat", Permission.WORKER_HEARTBEAT, Limit.HEARTBEATS)
async def record_activity_task_heartbeat(
    ctx: AppContext, request: wf.RecordActivityTaskHeartbeatRequest, call: Call
) -> wf.RecordActivityTaskHeartbeatResponse:
    body = _heartbeat(request, token_in(request.task_token))
    cancel_requested = await activities.record_heartbeat(ctx, request.namespace, body)
    return wf.RecordActivityTaskHeartbeatResponse(cancel_requested=cancel_requested)


@WORKFLOW_SERVICE.rpc(
    "RespondActivityTaskCompleted", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS
)
async def respond_activity_task_completed(
    ctx: AppContext, request: wf.RespondActivityTaskCompletedRequest, call: Call
) -> wf.RespondActivityTaskCompletedResponse:
    body = _completed(request, token_in(request.task_token))
    await activities.respond_completed(ctx, request.namespace, body)
    return wf.RespondActivityTaskCompletedResponse()


@WORKFLOW_SERVICE.rpc("RespondActivityTaskFailed", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS)
async def respond_activity_task_failed(
    ctx: AppContext, request: wf.RespondActivityTaskFailedRequest, call: Call
) -> wf.RespondActivityTaskFailedResponse:
    body = _failed(request, token_in(request.task_token))
    await activities.respond_failed(ctx, request.namespace, body)
    return wf.RespondActivityTaskFailedResponse()


@WORKFLOW_SERVICE.rpc(
    "RespondActivityTaskCanceled", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS
)
async def respond_activity_task_canceled(
    ctx: AppContext, request: wf.RespondActivityTaskCanceledRequest, call: Call
) -> wf.RespondActivityTaskCanceledResponse:
    body = _canceled(request, token_in(request.task_token))
    await activities.respond_canceled(ctx, request.namespace, body)
    return wf.RespondActivityTaskCanceledResponse()


@WORKFLOW_SERVICE.rpc("ShutdownWorker", Permission.WORKER_POLL)
async def shutdown_worker(
    ctx: AppContext, request: wf.ShutdownWorkerRequest, call: Call
) -> wf.ShutdownWorkerResponse:
    """The worker's sticky queue released: the runs it had cached go back to their own
    queues (its polls in flight are cancelled by the SDK itself)."""
    await sticky_queues.release(ctx, request.namespace, request.sticky_task_queue)
    return wf.ShutdownWorkerResponse()


def _ref(request: Any) -> activities.ActivityRef:
    """The activity a ``…ById`` request names (its run checked as REST checks ids in a
    path; an empty run id is the current run)."""
    execution = checked_execution(
        common.WorkflowExecution(workflow_id=request.workflow_id, run_id=request.run_id)
    )
    if not request.activity_id:
        raise bad_request("activity_id", "activity_id is required")
    return activities.ActivityRef(execution.workflow_id, execution.run_id, request.activity_id)


@WORKFLOW_SERVICE.rpc(
    "RecordActivityTaskHeartbeatById", Permission.WORKER_HEARTBEAT, Limit.HEARTBEATS
)
async def record_activity_task_heartbeat_by_id(
    ctx: AppContext, request: wf.RecordActivityTaskHeartbeatByIdRequest, call: Call
) -> wf.RecordActivityTaskHeartbeatByIdResponse:
    cancel_requested = await activities.record_heartbeat(
        ctx, request.namespace, _heartbeat(request), _ref(request)
    )
    return wf.RecordActivityTaskHeartbeatByIdResponse(cancel_requested=cancel_requested)


@WORKFLOW_SERVICE.rpc(
    "RespondActivityTaskCompletedById", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS
)
async def respond_activity_task_completed_by_id(
    ctx: AppContext, request: wf.RespondActivityTaskCompletedByIdRequest, call: Call
) -> wf.RespondActivityTaskCompletedByIdResponse:
    await activities.respond_completed(ctx, request.namespace, _completed(request), _ref(request))
    return wf.RespondActivityTaskCompletedByIdResponse()


@WORKFLOW_SERVICE.rpc(
    "RespondActivityTaskFailedById", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS
)
async def respond_activity_task_failed_by_id(
    ctx: AppContext, request: wf.RespondActivityTaskFailedByIdRequest, call: Call
) -> wf.RespondActivityTaskFailedByIdResponse:
    await activities.respond_failed(ctx, request.namespace, _failed(request), _ref(request))
    return wf.RespondActivityTaskFailedByIdResponse()


@WORKFLOW_SERVICE.rpc(
    "RespondActivityTaskCanceledById", Permission.WORKER_RESPOND, Limit.HISTORY_EVENTS
)
async def respond_activity_task_canceled_by_id(
    ctx: AppContext, request: wf.RespondActivityTaskCanceledByIdRequest, call: Call
) -> wf.RespondActivityTaskCanceledByIdResponse:
    await activities.respond_canceled(ctx, request.namespace, _canceled(request), _ref(request))
    return wf.RespondActivityTaskCanceledByIdResponse()
