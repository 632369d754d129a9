"""RegisterWorker: registrations are listed by DescribeTaskQueue, refreshed by
registering again or by polling with the same identity, and lapse after the TTL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.api.worker_client import NS, QUEUE, Worker
from tests.conftest import assert_error

REGISTER = f"{NS}/workers"


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_queue": {"name": QUEUE},
        "identity": "worker-1@host",
        "workflow_types": ["OrderProcessingWorkflow"],
        "activity_types": ["ChargeCard", "ShipOrder"],
        "version_capabilities": {"build_id": "2026.11.29"},
    }
    body.update(overrides)
    return body


async def listed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(f"{NS}/task-queues/{QUEUE}")
    assert response.status_code == 200, response.text
    workers: list[dict[str, Any]] = response.json()["workers"]
    return workers


async def test_a_registration_is_listed_with_the_task_queue(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    response = await client.post(REGISTER, json=registration())
    assert response.status_code == 200, response.text
    registered = response.json()
    assert registered["identity"] == "worker-1@host"
    assert registered["task_queue"] == QUEUE
    assert registered["activity_types"] == ["ChargeCard", "ShipOrder"]
    assert registered["build_id"] == "2026.11.29"
    [worker] = await listed(client)
    assert worker == registered
    again = await client.post(REGISTER, json=registration(activity_types=["Refund"]))
    assert again.json()["registered_time"] == registered["registered_time"]
    assert [w["activity_types"] for w in await listed(client)] == [["Refund"]]


async def test_a_registration_lapses_unless_renewed_or_polled(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await client.post(REGISTER, json=registration(identity="test-worker"))
    await client.post(REGISTER, json=registration(identity="worker-2@host"))
    ttl = app.state.ctx.settings.worker_registration_ttl_seconds
    clock.advance(ttl - 1)
    polled = await Worker(client, clock, app).activity_task()  # polls as test-worker
    assert polled["task_token"] == ""
    clock.advance(1)
    assert [w["identity"] for w in await listed(client)] == ["test-worker"]
    clock.advance(ttl)
    assert await listed(client) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (registration(identity=""), "identity"),
        (registration(task_queue=""), "task_queue"),
        (registration(task_queue={"kind": "NORMAL"}), "task_queue"),
        (registration(namespace="other"), "namespace"),
        (registration(workflow_types="OrderProcessingWorkflow"), "workflow_types"),
    ],
    ids=[
        "no-identity",
        "empty-queue",
        "queue-without-name",
        "namespace-mismatch",
        "types-not-list",
    ],
)
async def test_bad_registrations_are_invalid(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error = assert_error(await client.post(REGISTER, json=body), 400, "INVALID_ARGUMENT")
    assert error["details"][0]["field"].startswith(field)


async def test_an_unknown_namespace_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/namespaces/nowhere/workers", json=registration())
    assert_error(response, 404, "NAMESPACE_NOT_FOUND")
