"""DescribeTaskQueue: who polls a task queue and how much waits in it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from app.context import AppContext, context
from app.models.task_queues import DescribeTaskQueueResponse, ListTaskQueuePartitionsResponse
from app.permissions import Permission, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import task_queues

router = APIRouter(
    prefix="/api/v1/namespaces/{namespace}/task-queues", tags=["Admin"], route_class=StrictJsonRoute
)

QueueType = Literal["WORKFLOW", "ACTIVITY", "TASK_QUEUE_TYPE_WORKFLOW", "TASK_QUEUE_TYPE_ACTIVITY"]


@router.get(
    "/{task_queue}",
    response_model=DescribeTaskQueueResponse,
    summary="DescribeTaskQueue",
    **requires(Permission.CLUSTER_READ),
    responses=errors(404),
)
async def describe_task_queue(
    namespace: str,
    task_queue: str,
    task_queue_type: Annotated[
        QueueType, Query(description="WORKFLOW (default) or ACTIVITY.")
    ] = "WORKFLOW",
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """The pollers of the last five minutes (identity, last access time) and the queue's
    status: tasks waiting (`backlog_count_hint`), its rate (the task-queue operations
    budget per second), ack and read levels (task ids), and the
    age of the oldest waiting task; and the workers registered on the queue (RegisterWorker)
    whose registration has not lapsed."""
    kind = task_queue_type.removeprefix("TASK_QUEUE_TYPE_").lower()
    return await task_queues.describe_task_queue(ctx, namespace, task_queue, kind)


@router.get(
    "/{task_queue}/partitions",
    response_model=ListTaskQueuePartitionsResponse,
    summary="ListTaskQueuePartitions",
    **requires(Permission.CLUSTER_READ),
    responses=errors(404),
)
async def list_task_queue_partitions(
    namespace: str, task_queue: str, ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """Each partition of the queue (workflow and activity tasks), with its owner — the
    member whose pollers look in it first; any member's pollers take its tasks when
    theirs are empty — and the tasks waiting in it."""
    return await task_queues.list_partitions(ctx, namespace, task_queue)
