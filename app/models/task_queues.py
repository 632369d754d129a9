"""DescribeTaskQueue's answer, in Temporal's shape."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from app.models.workers import RegisteredWorker


class PollerInfo(BaseModel):
    identity: str
    last_access_time: datetime
    rate_per_second: float


class TaskQueueStatus(BaseModel):
    backlog_count_hint: int
    rate_per_second: float
    ack_level: int
    read_level: int
    approximate_backlog_age: str


class DescribeTaskQueueResponse(BaseModel):
    pollers: list[PollerInfo]
    task_queue_status: TaskQueueStatus
    workers: list[RegisteredWorker]


class TaskQueuePartition(BaseModel):
    key: str
    owner_host_name: str
    owner_address: str
    backlog_count_hint: int


class ListTaskQueuePartitionsResponse(BaseModel):
    workflow_task_queue_partitions: list[TaskQueuePartition]
    activity_task_queue_partitions: list[TaskQueuePartition]
