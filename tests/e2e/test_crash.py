"""Durability across kill -9: every write the server acknowledged is there after a
restart on the same database, and no run is ever left half-written."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess

WORKFLOWS = "/api/v1/namespaces/default/workflows"
FIRST_BATCH = 50  # crash-0 … crash-49, each started then signalled
BURST_NEW = 100  # crash-50 … crash-149, started then signalled during the burst
KILL_AFTER_ACKS = 30  # the burst's kill -9 comes right after this many acknowledgements
ALL_IDS = [f"crash-{n}" for n in range(FIRST_BATCH + BURST_NEW)]


@dataclass(frozen=True)
class Signal:
    name: str
    input: Any
    request_id: str


@dataclass
class Ledger:
    """What the server acknowledged (200), and everything that was sent at all."""

    run_ids: dict[str, str] = field(default_factory=dict)
    signals: dict[str, list[Signal]] = field(default_factory=dict)
    sent_signals: dict[str, list[Signal]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    on_ack: Callable[[], None] = lambda: None

    @property
    def acks(self) -> int:
        return len(self.run_ids) + sum(len(s) for s in self.signals.values())


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with ServerProcess(database_url, tmp_path) as process:
        yield process


def _client(server: ServerProcess) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url,
        timeout=30.0,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
    )


async def _post(http: httpx.AsyncClient, ledger: Ledger, path: str, body: Any) -> Any:
    """The JSON answer when the server acknowledged the write; None when the connection
    died (the kill). Any other answer is recorded as unexpected."""
    try:
        response = await http.post(path, json=body)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        ledger.unexpected.append(f"POST {path}: {response.status_code} {response.text}")
        return None
    return response.json()


async def _start(http: httpx.AsyncClient, ledger: Ledger, n: int) -> bool:
    workflow_id = f"crash-{n}"
    body = {
        "workflow_id": workflow_id,
        "workflow_type": {"name": "W"},
        "task_queue": "q",
        "input": {"n": n},
    }
    answer = await _post(http, ledger, WORKFLOWS, body)
    if answer is None:
        return False
    ledger.run_ids[workflow_id] = answer["run_id"]
    ledger.on_ack()
    return True


async def _signal(http: httpx.AsyncClient, ledger: Ledger, workflow_id: str, sig: Signal) -> None:
    ledger.sent_signals.setdefault(workflow_id, []).append(sig)
    body = {"signal_name": sig.name, "input": sig.input, "request_id": sig.request_id}
    if await _post(http, ledger, f"{WORKFLOWS}/{workflow_id}/signal", body) is not None:
        ledger.signals.setdefault(workflow_id, []).append(sig)
        ledger.on_ack()


async def _start_and_signal(http: httpx.AsyncClient, ledger: Ledger, n: int) -> None:
    if await _start(http, ledger, n):
        await _signal(http, ledger, f"crash-{n}", Signal("s", n, f"sig-{n}"))


async def _describe(http: httpx.AsyncClient, workflow_id: str) -> dict[str, Any] | None:
    response = await http.get(f"{WORKFLOWS}/{workflow_id}")
    if response.status_code == 404:
        assert response.json()["error"]["code"] == "WORKFLOW_EXECUTION_NOT_FOUND", response.text
        return None
    assert response.status_code == 200, f"{workflow_id}: {response.text}"
    described: dict[str, Any] = response.json()
    return described


def _check_run(workflow_id: str, described: dict[str, Any], ledger: Ledger) -> None:
    """A whole run: dense event ids from 1, started then a scheduled workflow task, the
    acknowledged run id, and each acknowledged signal exactly once."""
    n = int(workflow_id.removeprefix("crash-"))
    events = described["workflow_execution_history"]
    assert described["next_page_token"] == "", workflow_id
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1)), events
    assert described["execution_info"]["history_length"] == len(events), described
    types = [e["event_type"] for e in events]
    assert types[:2] == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"], types
    started = events[0]["workflow_execution_started_event_attributes"]
    assert started["input"] == {"n": n}, started
    run_id = described["execution_info"]["execution"]["run_id"]
    if workflow_id in ledger.run_ids:
        assert run_id == ledger.run_ids[workflow_id], workflow_id

    recorded = [
        e["workflow_execution_signaled_event_attributes"]
        for e in events
        if e["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"
    ]
    request_ids = [s["request_id"] for s in recorded]
    assert len(request_ids) == len(set(request_ids)), f"{workflow_id}: a signal applied twice"
    sent = {s.request_id: s for s in ledger.sent_signals.get(workflow_id, [])}
    for attributes in recorded:
        sig = sent.get(attributes["request_id"])
        assert sig is not None, f"{workflow_id}: a signal nobody sent: {attributes}"
        assert (attributes["signal_name"], attributes["input"]) == (sig.name, sig.input)
    for sig in ledger.signals.get(workflow_id, []):
        assert sig.request_id in request_ids, f"{workflow_id}: acknowledged {sig} is lost"


async def _verify(server: ServerProcess, ledger: Ledger) -> int:
    """Every acknowledged write is present and every run that exists is whole; returns
    how many runs exist."""
    async with _client(server) as http:
        found = await asyncio.gather(*(_describe(http, w) for w in ALL_IDS))
    existing = 0
    for workflow_id, described in zip(ALL_IDS, found, strict=True):
        if described is None:
            assert workflow_id not in ledger.run_ids, (
                f"acknowledged start of {workflow_id} is lost\n{server.logs()}"
            )
            continue
        existing += 1
        _check_run(workflow_id, described, ledger)
    return existing


async def _first_batch(server: ServerProcess, ledger: Ledger) -> None:
    async with _client(server) as http:
        await asyncio.gather(*(_start_and_signal(http, ledger, n) for n in range(FIRST_BATCH)))


async def _burst_then_kill(server: ServerProcess, ledger: Ledger) -> int:
    """Fire new starts+signals and more signals to the first batch all at once, and
    kill -9 the server as soon as KILL_AFTER_ACKS of them were acknowledged, while the
    rest are in flight. Returns how many writes were attempted."""
    baseline = ledger.acks

    def kill_when_due() -> None:
        if ledger.acks - baseline == KILL_AFTER_ACKS:
            server.kill()

    ledger.on_ack = kill_when_due
    async with _client(server) as http:
        writes = [
            _start_and_signal(http, ledger, n) for n in range(FIRST_BATCH, FIRST_BATCH + BURST_NEW)
        ]
        writes += [
            _signal(http, ledger, f"crash-{n}", Signal("s2", 1000 + n, f"burst-sig-{n}"))
            for n in range(FIRST_BATCH)
        ]
        await asyncio.gather(*writes)
    ledger.on_ack = lambda: None
    return 2 * BURST_NEW + FIRST_BATCH


@pytest.mark.slow
async def test_acknowledged_writes_survive_kill_9(server: ServerProcess) -> None:
    ledger = Ledger()
    await _first_batch(server, ledger)
    assert not ledger.unexpected, ledger.unexpected
    assert len(ledger.run_ids) == FIRST_BATCH and ledger.acks == 2 * FIRST_BATCH

    server.kill()
    await server.start()
    assert await _verify(server, ledger) == FIRST_BATCH

    # A second kill -9, this time while a burst of concurrent writes is in flight.
    attempted = await _burst_then_kill(server, ledger)
    assert not server.running, "the burst ended before the kill"
    assert not ledger.unexpected, ledger.unexpected
    assert 2 * FIRST_BATCH + KILL_AFTER_ACKS <= ledger.acks < 2 * FIRST_BATCH + attempted

    await server.start()
    assert await _verify(server, ledger) >= len(ledger.run_ids)


@pytest.mark.slow
async def test_sigterm_stops_gracefully_and_keeps_the_data(server: ServerProcess) -> None:
    ledger = Ledger()
    async with _client(server) as http:
        await _start_and_signal(http, ledger, 0)
    assert ledger.acks == 2, ledger.unexpected

    # Uvicorn shuts down, then re-raises the signal it caught: death by SIGTERM is fine.
    assert server.stop() in (0, -signal.SIGTERM), server.logs()
    assert "Application shutdown complete" in server.logs()

    await server.start()
    assert await _verify(server, ledger) == 1
