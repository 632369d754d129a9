"""A Temporal worker for OrderProcessingWorkflow made of nothing but an async HTTP client.

    python -m examples.order_processing.worker --url http://127.0.0.1:7243 \\
        --namespace default --task-queue order-processing-queue

Two pollers run side by side (asyncio tasks), each in a loop of long polls on the task
queue; an empty answer (``task_token: ""``) just means "poll again".

- Workflow tasks: the poll answer carries the run's history (the rest is read page by
  page with GET .../history and ``next_page_token``). The worker keeps nothing in
  memory between tasks: it replays the whole history through the workflow code
  (workflow.py) to rebuild its state, and answers POST /workflow-tasks/complete with
  the commands the code reached, plus the answers to the queries riding on the task
  (``queries`` -> ``query_results``). A history the code no longer matches fails the
  task (POST /workflow-tasks/fail, NON_DETERMINISTIC_ERROR) on its first attempt; as
  SDKs do, a retried attempt that fails again is left to time out rather than answered,
  so the server retries it every workflow_task_timeout, not in a tight loop.
- Query tasks (a workflow-task poll answer with ``query`` set): replay, then answer
  ``get_order_status`` at POST /query-tasks/complete. Nothing is written to history.
- Activity tasks: run the named function from activities.py on the task's input and
  answer POST /activities/complete with its result, or /activities/fail with an
  ApplicationFailure; the server retries per the activity's retry policy.

Ctrl-C (or SIGTERM) stops the pollers and closes the client. A task a worker dropped is
not lost: the server times it out and hands it to the next poll."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from examples.order_processing.activities import ACTIVITIES
from examples.order_processing.workflow import (
    NonDeterminismError,
    OrderProcessingWorkflow,
    Replay,
    replay,
)

log = logging.getLogger("order-worker")
POLL_WAIT = "20s"  # the server's long-poll window for our polls
HTTP_TIMEOUT = 40.0  # above POLL_WAIT
RETRY_DELAY = 1.0  # after a failed poll (server down, restarting, ...)


class GatewayError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text}"
        )


class Worker:
    def __init__(
        self, http: httpx.AsyncClient, namespace: str, task_queue: str, identity: str
    ) -> None:
        self.http = http
        self.ns = f"/api/v1/namespaces/{namespace}"
        self.task_queue = task_queue
        self.identity = identity

    async def run(self) -> None:
        """Poll both task queues until cancelled."""
        async with asyncio.TaskGroup() as pollers:
            pollers.create_task(self._poll_forever("workflow", self.workflow_task))
            pollers.create_task(self._poll_forever("activity", self.activity_task))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(f"{self.ns}{path}", json=body)
        if response.status_code != 200:
            raise GatewayError(response)
        answer: dict[str, Any] = response.json()
        return answer

    async def _poll_forever(
        self, kind: str, handle: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        path = f"/task-queues/{self.task_queue}/{kind}-tasks/poll"
        while True:
            try:
                task = await self._post(
                    path, {"identity": self.identity, "wait_timeout": POLL_WAIT}
                )
            except (httpx.HTTPError, GatewayError) as exc:
                log.warning("%s poll failed (%s); retrying in %ss", kind, exc, RETRY_DELAY)
                await asyncio.sleep(RETRY_DELAY)
                continue
            if not task["task_token"]:
                continue  # the window passed with no task
            try:
                await handle(task)
            except (httpx.HTTPError, GatewayError) as exc:
                # The server will time the task out and offer it again.
                log.warning("could not answer a %s task: %s", kind, exc)
            except Exception:
                log.exception("a %s task crashed the worker's handler", kind)

    async def history(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        """The task's whole history: the poll's first page, then the following pages."""
        events: list[dict[str, Any]] = list(task["history"])
        token: str = task.get("next_page_token") or ""
        execution = task["workflow_execution"]
        path = f"{self.ns}/workflows/{execution['workflow_id']}/runs/{execution['run_id']}/history"
        while token:
            response = await self.http.get(path, params={"next_page_token": token})
            if response.status_code != 200:
                raise GatewayError(response)
            page = response.json()
            events += page["history"]
            token = page["next_page_token"]
        if task.get("started_event_id"):  # a workflow task sees history up to its start
            events = [e for e in events if e["event_id"] <= task["started_event_id"]]
        return events

    async def workflow_task(self, task: dict[str, Any]) -> None:
        execution = task["workflow_execution"]
        history = await self.history(task)
        try:
            if task["workflow_type"]["name"] != OrderProcessingWorkflow.name:
                raise ValueError(f"unknown workflow type {task['workflow_type']['name']!r}")
            replayed = replay(history)
        except Exception as exc:
            if task.get("query"):
                await self._answer_query_task(task, _failed(exc))
                return
            cause = (
                "NON_DETERMINISTIC_ERROR"
                if isinstance(exc, NonDeterminismError)
                else "WORKFLOW_WORKER_UNHANDLED_FAILURE"
            )
            log.error(
                "workflow task of %s (attempt %s) failed: %s",
                execution["workflow_id"],
                task["attempt"],
                exc,
            )
            if task["attempt"] > 1:
                # As SDKs do: report only the first failure; later attempts are left to
                # time out, so a broken workflow is retried every workflow_task_timeout
                # instead of in a tight loop.
                return
            await self._post(
                "/workflow-tasks/fail",
                {
                    "task_token": task["task_token"],
                    "cause": cause,
                    "failure": {"message": str(exc), "application_failure_info": {}},
                    "identity": self.identity,
                },
            )
            return
        if task.get("query"):
            result = _query_result(replayed, task["query"])
            log.info("%s: query task -> %s", execution["workflow_id"], result)
            await self._answer_query_task(task, result)
            return
        query_results = {
            query_id: _query_result(replayed, query)
            for query_id, query in (task.get("queries") or {}).items()
        }
        log.info(
            "%s: %s -> %s%s",
            execution["workflow_id"],
            replayed.workflow.status,
            [c["command_type"] for c in replayed.commands] or "wait",
            f" (+ {len(query_results)} query answers)" if query_results else "",
        )
        await self._post(
            "/workflow-tasks/complete",
            {
                "task_token": task["task_token"],
                "commands": replayed.commands,
                "query_results": query_results,
                "identity": self.identity,
            },
        )

    async def _answer_query_task(self, task: dict[str, Any], result: dict[str, Any]) -> None:
        if result["result_type"] == "ANSWERED":
            body = {"completed_type": "ANSWERED", "query_result": result["answer"]}
        else:
            body = {"completed_type": "FAILED", "error_message": result["error_message"]}
        await self._post("/query-tasks/complete", {"task_token": task["task_token"], **body})

    async def activity_task(self, task: dict[str, Any]) -> None:
        name = task["activity_type"]["name"]
        base = {"task_token": task["task_token"], "identity": self.identity}
        try:
            function = ACTIVITIES.get(name)
            if function is None:
                raise LookupError(f"unknown activity type {name!r}")
            result = await asyncio.to_thread(function, task["input"])
        except Exception as exc:
            log.warning("activity %s (attempt %s) failed: %s", name, task["attempt"], exc)
            failure = {
                "message": str(exc),
                "application_failure_info": {"type": type(exc).__name__},
            }
            await self._post("/activities/fail", {**base, "failure": failure})
            return
        log.info("activity %s -> %s", name, result)
        await self._post("/activities/complete", {**base, "result": result})


def _query_result(replayed: Replay, query: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = replayed.workflow.query(query["query_type"], query.get("query_args"))
    except Exception as exc:
        return _failed(exc)
    return {"result_type": "ANSWERED", "answer": answer}


def _failed(exc: Exception) -> dict[str, Any]:
    return {"result_type": "FAILED", "error_message": str(exc)}


async def run_worker(url: str, namespace: str, task_queue: str, identity: str = "") -> None:
    """Run the worker until cancelled."""
    identity = identity or f"order-worker@{socket.gethostname()}"
    async with httpx.AsyncClient(base_url=url, timeout=HTTP_TIMEOUT) as http:
        log.info("polling %s (namespace %s, task queue %s)", url, namespace, task_queue)
        await Worker(http, namespace, task_queue, identity).run()


async def _main(args: argparse.Namespace) -> None:
    worker = asyncio.create_task(run_worker(args.url, args.namespace, args.task_queue))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, worker.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    log.info("stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7243")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", default="order-processing-queue")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
