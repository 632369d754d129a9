"""A scripted worker on the gateway's REST worker protocol, for tests that drive the
official SDK's client over gRPC: the test says which task to take and how to answer it,
so nothing runs in the background and nothing sleeps."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.clock import ManualClock
from tests.conftest import wait_until
from tests.grpc.conftest import GrpcGateway

QUEUE = "sdk-queue"
GUARD_SECONDS = 60.0


class HttpWorker:
    def __init__(self, gateway: GrpcGateway, namespace: str = "default") -> None:
        self.http: httpx.AsyncClient = gateway.http
        self.clock: ManualClock = gateway.clock
        self.ns = f"/api/v1/namespaces/{namespace}"

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(f"{self.ns}{path}", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def _poll(self, kind: str, queue: str) -> dict[str, Any]:
        """One poll; it must return a task. The clock never moves: a poll with nothing to
        take parks until the commit that writes its task wakes it (a start the SDK's
        client is still sending, say). The bound in real time only stops a broken test
        from hanging."""
        async with asyncio.timeout(GUARD_SECONDS):
            task = await self._post(
                f"/task-queues/{queue}/{kind}-tasks/poll",
                {"identity": "http-worker", "wait_timeout": "50s"},
            )
        assert task["task_token"], f"no {kind} task on {queue}"
        return task

    async def workflow_task(self, queue: str = QUEUE) -> dict[str, Any]:
        return await self._poll("workflow", queue)

    async def activity_task(self, queue: str = QUEUE) -> dict[str, Any]:
        return await self._poll("activity", queue)

    async def complete(
        self,
        task: dict[str, Any],
        *commands: dict[str, Any],
        query_results: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "task_token": task["task_token"],
            "commands": list(commands),
            "identity": "http-worker",
        }
        if query_results is not None:
            body["query_results"] = query_results
        return await self._post("/workflow-tasks/complete", body)

    async def answer_query(
        self, task: dict[str, Any], result: Any = None, error: str | None = None
    ) -> None:
        """Answer a query task (a poll answer with ``query`` set)."""
        body: dict[str, Any] = {"task_token": task["task_token"]}
        if error is None:
            body.update(completed_type="ANSWERED", query_result=result)
        else:
            body.update(completed_type="FAILED", error_message=error)
        await self._post("/query-tasks/complete", body)

    async def run_to_completion(self, result: Any, queue: str = QUEUE) -> dict[str, Any]:
        """Take the next workflow task and complete the run with ``result``."""
        task = await self.workflow_task(queue)
        await self.complete(task, complete_workflow(result))
        return task


def complete_workflow(result: Any = None) -> dict[str, Any]:
    return {
        "command_type": "COMPLETE_WORKFLOW_EXECUTION",
        "complete_workflow_execution_command_attributes": {"result": result},
    }


def fail_workflow(message: str, failure_type: str = "OrderRejected") -> dict[str, Any]:
    return {
        "command_type": "FAIL_WORKFLOW_EXECUTION",
        "fail_workflow_execution_command_attributes": {
            "failure": {
                "message": message,
                "application_failure_info": {"type": failure_type, "non_retryable": True},
            }
        },
    }


def cancel_workflow(details: Any = None) -> dict[str, Any]:
    return {
        "command_type": "CANCEL_WORKFLOW_EXECUTION",
        "cancel_workflow_execution_command_attributes": {"details": details},
    }


def continue_as_new(workflow_type: str, queue: str = QUEUE, **attrs: Any) -> dict[str, Any]:
    return {
        "command_type": "CONTINUE_AS_NEW_WORKFLOW_EXECUTION",
        "continue_as_new_workflow_execution_command_attributes": {
            "workflow_type": {"name": workflow_type},
            "task_queue": {"name": queue},
            **attrs,
        },
    }


def schedule_activity(activity_id: str, activity_type: str, arg: Any = None) -> dict[str, Any]:
    return {
        "command_type": "SCHEDULE_ACTIVITY_TASK",
        "schedule_activity_task_command_attributes": {
            "activity_id": activity_id,
            "activity_type": {"name": activity_type},
            "input": arg,
            "start_to_close_timeout": "30s",
        },
    }


async def wait_for_new_wait(clock: ManualClock, before: int) -> None:
    """Until a wait on the clock begins after ``before`` (``clock.waits_started``): a
    query or a long poll has reached the server and waits there."""
    await wait_until(lambda: clock.waits_started > before)
