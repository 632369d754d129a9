"""A worker credential sealed to one namespace cannot reach another through the commands
it answers a workflow task with: a child started, a signal sent or a cancel requested in
a namespace it may not act in is refused (403 PERMISSION_DENIED naming the namespace)
before anything is written, and the other namespace sees nothing. Within its namespaces
(named, or left to default to the workflow's own) the same commands work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.api.worker_client import Worker
from tests.conftest import IN_PROCESS, assert_error, start_body

SECRET = "a-test-secret-that-is-long-enough-for-hs256!"
API = "/api/v1/namespaces"
HOME, OTHER = "default", "nsb"
QUEUE = "senders"
NOW = int(ManualClock().now().timestamp())  # each gateway's clock starts here


def bearer(permissions: list[str], namespace: Any) -> dict[str, str]:
    """A token minted at the gateway's clock's start (the gateway checks exp against it)."""
    now = NOW
    claims = {
        "sub": "cross-namespace",
        "permissions": permissions,
        "namespace": namespace,
        "iat": now,
        "exp": now + 600,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


ADMIN = bearer(["temporal:*"], "*")


@dataclass
class Gateway:
    app: FastAPI
    clock: ManualClock
    transport: httpx.ASGITransport

    def client(self, headers: dict[str, str]) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport, base_url="http://gateway", headers=headers
        )

    async def admin(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        async with self.client(ADMIN) as http:
            response = await http.request(method, url, json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def event_types(self, namespace: str, workflow_id: str) -> list[str]:
        history = await self.admin("GET", f"{API}/{namespace}/workflows/{workflow_id}/history")
        return [event["event_type"] for event in history["history"]]


@pytest.fixture
async def gateway(database_url: str, clock: ManualClock) -> AsyncIterator[Gateway]:
    settings = Settings(
        database_url=database_url, run_background_loops=False, jwt_secret=SECRET, **IN_PROCESS
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        here = Gateway(app, clock, httpx.ASGITransport(app=app, raise_app_exceptions=False))
        body = {"namespace": OTHER, "workflow_execution_retention_period": "86400s"}
        await here.admin("POST", API, body)
        for namespace in (HOME, OTHER):
            await here.admin("POST", f"{API}/{namespace}/workflows", start_body("target"))
        await here.admin("POST", f"{API}/{HOME}/workflows", start_body("sender", task_queue=QUEUE))
        yield here


def signal(namespace: str | None) -> dict[str, Any]:
    attributes = {"execution": {"workflow_id": "target"}, "signal_name": "ping"}
    return _command("SIGNAL_EXTERNAL_WORKFLOW_EXECUTION", attributes, namespace)


def cancel(namespace: str | None) -> dict[str, Any]:
    attributes = {"workflow_id": "target", "reason": "from afar"}
    return _command("REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION", attributes, namespace)


def child(namespace: str | None) -> dict[str, Any]:
    attributes = {
        "workflow_id": "child",
        "workflow_type": {"name": "Child"},
        "task_queue": {"name": "children"},
    }
    return _command("START_CHILD_WORKFLOW_EXECUTION", attributes, namespace)


def _command(kind: str, attributes: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    if namespace is not None:
        attributes = {**attributes, "namespace": namespace}
    return {"command_type": kind, f"{kind.lower()}_command_attributes": attributes}


# What each command leaves in the namespace it names: the target's last event, or the child.
TRACE = {
    "signal": ("target", "WORKFLOW_EXECUTION_SIGNALED"),
    "cancel": ("target", "WORKFLOW_EXECUTION_CANCEL_REQUESTED"),
    "child": ("child", "WORKFLOW_EXECUTION_STARTED"),
}
COMMANDS = {"signal": signal, "cancel": cancel, "child": child}


async def answer(gateway: Gateway, headers: dict[str, str], command: dict[str, Any]) -> Any:
    async with gateway.client(headers) as http:
        worker = Worker(http, gateway.clock, gateway.app)
        task = await worker.workflow_task(QUEUE)
        assert task["task_token"], task
        return await worker.complete_workflow_task(task["task_token"], command)


async def trace_in(gateway: Gateway, namespace: str, name: str) -> list[str]:
    workflow_id, _ = TRACE[name]
    async with gateway.client(ADMIN) as http:
        response = await http.get(f"{API}/{namespace}/workflows/{workflow_id}/history")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return [event["event_type"] for event in response.json()["history"]]


@pytest.mark.parametrize("name", list(COMMANDS))
async def test_a_command_naming_a_foreign_namespace_is_refused(gateway: Gateway, name: str) -> None:
    sealed = bearer(["temporal:worker:*"], HOME)
    response = await answer(gateway, sealed, COMMANDS[name](OTHER))
    error = assert_error(response, 403, "PERMISSION_DENIED")
    assert repr(OTHER) in error["message"], error
    assert TRACE[name][1] not in await trace_in(gateway, OTHER, name)
    # Refused before anything was written: the task is still the worker's to answer.
    assert "WORKFLOW_TASK_COMPLETED" not in await gateway.event_types(HOME, "sender")


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("target", [HOME, None], ids=["named", "unnamed"])
async def test_a_command_within_the_credentials_namespace_works(
    gateway: Gateway, name: str, target: str | None
) -> None:
    sealed = bearer(["temporal:worker:*"], HOME)
    response = await answer(gateway, sealed, COMMANDS[name](target))
    assert response.status_code == 200, response.text
    assert TRACE[name][1] in await trace_in(gateway, HOME, name)


@pytest.mark.parametrize("name", list(COMMANDS))
async def test_a_credential_for_both_namespaces_may_cross(gateway: Gateway, name: str) -> None:
    both = bearer(["temporal:worker:*"], [HOME, OTHER])
    response = await answer(gateway, both, COMMANDS[name](OTHER))
    assert response.status_code == 200, response.text
    assert TRACE[name][1] in await trace_in(gateway, OTHER, name)
