"""RegisterWorker: a worker announces the task queue it serves and what it can run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models.common import StrictModel


class WorkerVersionCapabilities(StrictModel):
    build_id: str = Field("", max_length=255)
    use_versioning: bool = False


class RegisterWorkerRequest(StrictModel):
    namespace: str | None = None
    task_queue: Any = Field(description='The task queue served: a name or {"name": …}.')
    identity: str = Field(min_length=1, max_length=1000)
    workflow_types: list[str] = Field(default_factory=list, max_length=1000)
    activity_types: list[str] = Field(default_factory=list, max_length=1000)
    version_capabilities: WorkerVersionCapabilities | None = None


class RegisteredWorker(BaseModel):
    identity: str
    task_queue: str
    workflow_types: list[str]
    activity_types: list[str]
    build_id: str
    registered_time: datetime
    last_heartbeat_time: datetime
    expiry_time: datetime
