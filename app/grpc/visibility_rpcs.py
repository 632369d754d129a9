"""List, Scan and Count with the list query, search attributes (WorkflowService's
GetSearchAttributes, OperatorService's Add/List/Remove) and the task-queue views."""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import task_queue_pb2
from temporalio.api.operatorservice.v1 import request_response_pb2 as operator
from temporalio.api.taskqueue.v1 import message_pb2 as taskqueue
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf

from app.context import AppContext
from app.grpc.convert import from_json, token_in
from app.grpc.door import Call
from app.grpc.registry import OPERATOR_SERVICE, WORKFLOW_SERVICE
from app.grpc.typed_attributes import registered_types, type_fields
from app.payloads import encode_payload
from app.permissions import Permission
from app.services import search_attributes, task_queues, visibility
from app.services.descriptions import raw

IndexedValueType = common_enums.IndexedValueType
M = TypeVar("M", wf.ListWorkflowExecutionsResponse, wf.ScanWorkflowExecutionsResponse)
DEFAULT_NAMESPACE = "default"


async def _listed(
    ctx: AppContext,
    request: wf.ListWorkflowExecutionsRequest | wf.ScanWorkflowExecutionsRequest,
    response: M,
    scan: bool,
) -> M:
    page, token = await visibility.list_workflows(
        ctx,
        request.namespace,
        request.query,
        request.page_size,
        token_in(request.next_page_token),
        scan=scan,
        present=raw,
    )
    from_json({"executions": page}, response)
    types = await registered_types(ctx, request.namespace)
    for execution in response.executions:
        type_fields(execution.search_attributes, types)
    response.next_page_token = token.encode()
    return response


@WORKFLOW_SERVICE.rpc("ListWorkflowExecutions", Permission.WORKFLOW_LIST)
async def list_workflow_executions(
    ctx: AppContext, request: wf.ListWorkflowExecutionsRequest, call: Call
) -> wf.ListWorkflowExecutionsResponse:
    return await _listed(ctx, request, wf.ListWorkflowExecutionsResponse(), scan=False)


@WORKFLOW_SERVICE.rpc("ScanWorkflowExecutions", Permission.WORKFLOW_LIST)
async def scan_workflow_executions(
    ctx: AppContext, request: wf.ScanWorkflowExecutionsRequest, call: Call
) -> wf.ScanWorkflowExecutionsResponse:
    """Like List, in storage order."""
    return await _listed(ctx, request, wf.ScanWorkflowExecutionsResponse(), scan=True)


@WORKFLOW_SERVICE.rpc("CountWorkflowExecutions", Permission.WORKFLOW_LIST)
async def count_workflow_executions(
    ctx: AppContext, request: wf.CountWorkflowExecutionsRequest, call: Call
) -> wf.CountWorkflowExecutionsResponse:
    counted = await visibility.count_workflows(ctx, request.namespace, request.query)
    groups = [
        {"group_values": [encode_payload(v) for v in g["group_values"]], "count": g["count"]}
        for g in counted.get("groups", [])
    ]
    return from_json(
        {"count": counted["count"], "groups": groups}, wf.CountWorkflowExecutionsResponse()
    )


def _types(names: dict[str, str]) -> dict[str, common_enums.IndexedValueType.ValueType]:
    """Keyword -> INDEXED_VALUE_TYPE_KEYWORD, KeywordList -> …_KEYWORD_LIST."""
    out = {}
    for name, kind in names.items():
        snake = "".join(f"_{c}" if c.isupper() else c for c in kind).lstrip("_").upper()
        out[name] = IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{snake}")
    return out


@WORKFLOW_SERVICE.rpc("GetSearchAttributes", Permission.NAMESPACE_READ, namespace=DEFAULT_NAMESPACE)
async def get_search_attributes(
    ctx: AppContext, request: wf.GetSearchAttributesRequest, call: Call
) -> wf.GetSearchAttributesResponse:
    """Temporal's request names no namespace: the gateway answers with the system
    attributes and those of ``default``, so it admits only a credential that may read
    ``default``."""
    registered = await search_attributes.list_registered(ctx, DEFAULT_NAMESPACE)
    return wf.GetSearchAttributesResponse(
        keys=_types({**registered["system_attributes"], **registered["custom_attributes"]})
    )


@OPERATOR_SERVICE.rpc("ListSearchAttributes", Permission.NAMESPACE_READ)
async def list_search_attributes(
    ctx: AppContext, request: operator.ListSearchAttributesRequest, call: Call
) -> operator.ListSearchAttributesResponse:
    registered = await search_attributes.list_registered(ctx, request.namespace)
    return operator.ListSearchAttributesResponse(
        custom_attributes=_types(registered["custom_attributes"]),
        system_attributes=_types(registered["system_attributes"]),
    )


@OPERATOR_SERVICE.rpc("AddSearchAttributes", Permission.NAMESPACE_UPDATE)
async def add_search_attributes(
    ctx: AppContext, request: operator.AddSearchAttributesRequest, call: Call
) -> operator.AddSearchAttributesResponse:
    known = IndexedValueType.values()
    wanted = {
        name: IndexedValueType.Name(kind) if kind in known else str(kind)  # refused below
        for name, kind in request.search_attributes.items()
    }
    await search_attributes.register(ctx, request.namespace, wanted)
    return operator.AddSearchAttributesResponse()


@OPERATOR_SERVICE.rpc("RemoveSearchAttributes", Permission.NAMESPACE_UPDATE)
async def remove_search_attributes(
    ctx: AppContext, request: operator.RemoveSearchAttributesRequest, call: Call
) -> operator.RemoveSearchAttributesResponse:
    # Temporal skips a name that is not registered and removes the others.
    await search_attributes.unregister(
        ctx, request.namespace, list(request.search_attributes), missing_ok=True
    )
    return operator.RemoveSearchAttributesResponse()


QUEUE_TYPES = {
    task_queue_pb2.TASK_QUEUE_TYPE_WORKFLOW: "workflow",
    task_queue_pb2.TASK_QUEUE_TYPE_ACTIVITY: "activity",
}


def _pollers(described: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**p, "last_access_time": _text_time(p["last_access_time"])} for p in described["pollers"]
    ]


@WORKFLOW_SERVICE.rpc("DescribeTaskQueue", Permission.CLUSTER_READ, task_queue_scoped=True)
async def describe_task_queue(
    ctx: AppContext, request: wf.DescribeTaskQueueRequest, call: Call
) -> wf.DescribeTaskQueueResponse:
    """The legacy mode describes one task-queue type (workflow by default); the enhanced
    mode (the CLI's default) the types asked for, or both, under the unversioned build
    id "" (the gateway has no worker versioning)."""
    enhanced = request.api_mode == task_queue_pb2.DESCRIBE_TASK_QUEUE_MODE_ENHANCED
    if enhanced:
        asked = [t for t in request.task_queue_types if t in QUEUE_TYPES] or list(QUEUE_TYPES)
    else:
        workflow = task_queue_pb2.TASK_QUEUE_TYPE_WORKFLOW
        asked = [request.task_queue_type if request.task_queue_type in QUEUE_TYPES else workflow]
    described = await task_queues.describe_task_queue_types(
        ctx, request.namespace, request.task_queue.name, [QUEUE_TYPES[t] for t in asked]
    )
    if not enhanced:
        (only,) = described.values()
        shown = {"pollers": _pollers(only), "task_queue_status": only["task_queue_status"]}
        return from_json(shown, wf.DescribeTaskQueueResponse())
    types_info = {}
    for number in asked:
        one = described[QUEUE_TYPES[number]]
        status = one["task_queue_status"]
        types_info[number] = {
            "pollers": _pollers(one) if request.report_pollers else [],
            # The add and dispatch rates are not measured: left out, not guessed.
            "stats": {
                "approximate_backlog_count": status["backlog_count_hint"],
                "approximate_backlog_age": status["approximate_backlog_age"],
            }
            if request.report_stats
            else None,
        }
    return from_json(
        {"versions_info": {"": {"types_info": types_info}}}, wf.DescribeTaskQueueResponse()
    )


def _text_time(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat().replace("+00:00", "Z")


@WORKFLOW_SERVICE.rpc("ListTaskQueuePartitions", Permission.CLUSTER_READ, task_queue_scoped=True)
async def list_task_queue_partitions(
    ctx: AppContext, request: wf.ListTaskQueuePartitionsRequest, call: Call
) -> wf.ListTaskQueuePartitionsResponse:
    listed = await task_queues.list_partitions(ctx, request.namespace, request.task_queue.name)

    def metadata(rows: list[dict[str, Any]]) -> list[taskqueue.TaskQueuePartitionMetadata]:
        return [
            taskqueue.TaskQueuePartitionMetadata(key=r["key"], owner_host_name=r["owner_host_name"])
            for r in rows
        ]

    return wf.ListTaskQueuePartitionsResponse(
        workflow_task_queue_partitions=metadata(listed["workflow_task_queue_partitions"]),
        activity_task_queue_partitions=metadata(listed["activity_task_queue_partitions"]),
    )
