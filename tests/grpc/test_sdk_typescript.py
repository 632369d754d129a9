"""The official TypeScript SDK (@temporalio/client and @temporalio/worker from npm) runs
tests/typescript/run.js against the gateway's gRPC door: a Worker on a NativeConnection
and a Client start orderWorkflow, which runs an activity, waits for a signal, answers a
query and runs a child workflow; the program checks the result and replays the history
with the Worker's replayer. Skipped where node or npm is not on PATH.

The npm packages install once per machine (``npm ci`` into tests/typescript/node_modules)
and again only when package-lock.json changes, under a file lock so that concurrent runs
(the SQLite and PostgreSQL passes, parallel workers) do not install over each other."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.grpc.conftest import GrpcGateway

PROJECT = Path(__file__).resolve().parent.parent / "typescript"
MODULES = PROJECT / "node_modules"
STAMP = MODULES / ".gateway-npm-ci-stamp"  # the hash of the lock it was installed from
LOCK = PROJECT / ".npm-ci.lock"
INSTALL_SECONDS = 600
RUN_SECONDS = 120
NS = "/api/v1/namespaces/default"


def _lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((PROJECT / name).read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def node() -> str:
    """node, with the project's npm packages installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: the TypeScript SDK test needs Node.js >= 20.3")
    wanted = _lock_hash()
    with _exclusive(LOCK):
        if not STAMP.exists() or STAMP.read_text() != wanted:
            installed = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PROJECT,
                capture_output=True,
                text=True,
                timeout=INSTALL_SECONDS,
                check=False,
            )
            assert installed.returncode == 0, (
                f"npm ci failed in {PROJECT}:\n{installed.stdout}\n{installed.stderr}"
            )
            STAMP.write_text(wanted)
    return node


async def _run(node: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        node,
        "run.js",
        *args,
        cwd=PROJECT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_SECONDS)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        pytest.fail(f"run.js took over {RUN_SECONDS}s:\n{stdout.decode()}\n{stderr.decode()}")
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def _event_types(gateway: GrpcGateway, workflow_id: str) -> list[str]:
    response = await gateway.http.get(f"{NS}/workflows/{workflow_id}/history")
    assert response.status_code == 200, response.text
    return [event["event_type"] for event in response.json()["history"]]


async def test_the_typescript_sdk_runs_an_order_workflow(
    node: str, grpc_gateway: GrpcGateway
) -> None:
    queue = f"typescript-{uuid.uuid4().hex[:8]}"
    code, stdout, stderr = await _run(node, grpc_gateway.target, "default", queue)
    assert code == 0, f"run.js exited {code}:\n{stdout}\n{stderr}"
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, f"run.js should print one JSON line:\n{stdout}\n{stderr}"
    report: dict[str, Any] = json.loads(lines[0])

    assert report["query"] == "awaiting_payment"
    assert report["replayed"] is True
    result = report["result"]
    order_id = result["orderId"]
    assert result == {
        "orderId": order_id,
        "reservation": "reserved 3 x widget (attempt 1)",
        "payment": "paid 42.00",
        "shipment": f"shipped {order_id}",
        "status": "completed",
    }

    workflow_id = report["workflowId"]
    types = await _event_types(grpc_gateway, workflow_id)
    assert len(types) == report["historyEvents"]
    for expected in (
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "CHILD_WORKFLOW_EXECUTION_STARTED",
        "CHILD_WORKFLOW_EXECUTION_COMPLETED",
    ):
        assert expected in types, (expected, types)
    assert types[0] == "WORKFLOW_EXECUTION_STARTED"
    assert types[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    # The signal came after the activity, the child after the signal.
    assert (
        types.index("ACTIVITY_TASK_COMPLETED")
        < types.index("WORKFLOW_EXECUTION_SIGNALED")
        < types.index("START_CHILD_WORKFLOW_EXECUTION_INITIATED")
    )

    child = await _event_types(grpc_gateway, f"{workflow_id}-ship")
    assert "ACTIVITY_TASK_COMPLETED" in child
    assert child[-1] == "WORKFLOW_EXECUTION_COMPLETED"
