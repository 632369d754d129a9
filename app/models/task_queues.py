"""DescribeTaskQueue's answer, in Temporal's shape."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from app.models.workers import RegisteredWorker


class PollerInfo(BaseModel):
    identity: str
    last_access_time: datetime


class TaskQueueStatus(BaseModel):
    backlog_count_hint: int
    ack_level: int
    read_level: int
    approximate_backlog_age: str


class DescribeTaskQueueResponse(BaseModel):
    pollers: list[PollerInfo]
    task_queue_status: TaskQueueStatus
    workers: list[RegisteredWorker]
