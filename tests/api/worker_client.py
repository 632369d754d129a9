"""A minimal worker written with nothing but an HTTP client, for tests: polls that
return at once when a task is ready and otherwise end by moving the manual clock."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from app.services.timers import TimerProcessor
from tests.conftest import start_body, wait_until

NS = "/api/v1/namespaces/default"
QUEUE = "order-processing-queue"
# A run's history once its first workflow task scheduled an activity.
ACTIVITY_SCHEDULED_HEAD = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "ACTIVITY_TASK_SCHEDULED",
]


class Worker:
    def __init__(self, client: httpx.AsyncClient, clock: ManualClock, app: FastAPI) -> None:
        self.client = client
        self.clock = clock
        self.app = app

    async def _poll(self, kind: str, queue: str) -> dict[str, Any]:
        async def request() -> dict[str, Any]:
            response = await self.client.post(
                f"{NS}/task-queues/{queue}/{kind}-tasks/poll",
                json={"identity": "test-worker", "wait_timeout": "1s"},
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        polling = asyncio.create_task(request())
        await wait_until(lambda: polling.done() or self.clock.pending_waits() > 0)
        if not polling.done():
            self.clock.advance(1)
        return await polling

    async def workflow_task(self, queue: str = QUEUE) -> dict[str, Any]:
        return await self._poll("workflow", queue)

    async def activity_task(self, queue: str = QUEUE) -> dict[str, Any]:
        return await self._poll("activity", queue)

    async def complete_workflow_task(self, token: str, *commands: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            f"{NS}/workflow-tasks/complete",
            json={"task_token": token, "commands": list(commands), "identity": "test-worker"},
        )

    async def activity(self, action: str, token: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            f"{NS}/activities/{action}",
            json={"task_token": token, "identity": "test-worker", **body},
        )

    async def fire_timers(self, seconds: float) -> None:
        self.clock.advance(seconds)
        loop = self.app.state.ctx.loops[0]
        assert isinstance(loop, TimerProcessor)
        await loop.run_once()

    async def start(self, workflow_id: str, **overrides: Any) -> str:
        response = await self.client.post(
            f"{NS}/workflows", json=start_body(workflow_id, **overrides)
        )
        assert response.status_code == 200, response.text
        run_id: str = response.json()["run_id"]
        return run_id

    async def history(self, workflow_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"{NS}/workflows/{workflow_id}/history")
        events: list[dict[str, Any]] = response.json()["history"]
        return events

    async def event_types(self, workflow_id: str) -> list[str]:
        return [e["event_type"] for e in await self.history(workflow_id)]


def schedule_activity(activity_id: str = "a1", **attributes: Any) -> dict[str, Any]:
    return {
        "command_type": "SCHEDULE_ACTIVITY_TASK",
        "schedule_activity_task_command_attributes": {
            "activity_id": activity_id,
            "activity_type": {"name": "ProcessPayment"},
            "input": {"amount": 59.98},
            "start_to_close_timeout": "30s",
            **attributes,
        },
    }


def complete_workflow(result: Any = None) -> dict[str, Any]:
    return {
        "command_type": "COMPLETE_WORKFLOW_EXECUTION",
        "complete_workflow_execution_command_attributes": {"result": result},
    }


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    key = f"{event['event_type'].lower()}_event_attributes"
    value: dict[str, Any] = event[key]
    return value
