"""What metrics and the access log add to each request (docs/metrics.md), in-process:

1. the gateway's observing layer (app.observability.requests) around an ASGI app that
   answers at once, called directly: the layer's own cost, best of five rounds;
2. the whole app, GetNamespace through httpx's ASGI transport, one app per setting,
   batches alternating between them: the median per request.

CPU time of this process (time.process_time), which other processes on the machine
disturb less than wall time. The access log goes to a file, as a server's would.

    python -m bench.observability [requests]
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app import logs
from app.clock import ManualClock
from app.main import create_app
from app.observability.metrics import NO_METRICS, Metrics
from app.observability.requests import ObservedRequests
from app.settings import Settings

SETTINGS: dict[str, dict[str, bool]] = {
    "both off": {"metrics_enabled": False, "access_log": False},
    "metrics only": {"metrics_enabled": True, "access_log": False},
    "access log only": {"metrics_enabled": False, "access_log": True},
    "both on (default)": {"metrics_enabled": True, "access_log": True},
}
BATCH = 100
LAYER_CALLS = 20_000
PATH = "/api/v1/namespaces/default"


async def layer_alone() -> None:
    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    scope = {
        "type": "http",
        "method": "GET",
        "path": PATH,
        "raw_path": PATH.encode(),
        "client": ("127.0.0.1", 50000),
        "headers": [],
    }
    apps: dict[str, Any] = {
        "bare app": answer,
        "metrics only": ObservedRequests(answer, Metrics("bench"), access_log=False),
        "access log only": ObservedRequests(answer, NO_METRICS, access_log=True),
        "both on (default)": ObservedRequests(answer, Metrics("bench"), access_log=True),
    }
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(5):
        for name, app in apps.items():
            started = time.process_time()
            for _ in range(LAYER_CALLS):
                await app(dict(scope), receive, send)
            best[name] = min(best[name], (time.process_time() - started) / LAYER_CALLS * 1e6)
    for name, micros in best.items():
        print(f"layer alone   {name:18s} {micros:7.2f} us  (+{micros - best['bare app']:.2f})")


async def whole_app(folder: Path, total: int) -> None:
    clients: dict[str, httpx.AsyncClient] = {}
    lifespans = []
    for name, observability in SETTINGS.items():
        settings = Settings(
            database_url=f"sqlite:///{folder}/{name.split()[0]}-{len(clients)}.db",
            run_background_loops=False,
            rate_limits_enabled=False,
            **observability,
        )
        app = create_app(settings, clock=ManualClock())
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        lifespans.append(lifespan)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        for _ in range(BATCH):  # warm up
            assert (await client.get(PATH)).status_code == 200
        clients[name] = client
    per_request: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(max(1, total // BATCH)):
        for name, client in clients.items():
            started = time.process_time()
            for _ in range(BATCH):
                await client.get(PATH)
            per_request[name].append((time.process_time() - started) / BATCH * 1e6)
    base = statistics.median(per_request["both off"])
    for name, values in per_request.items():
        median = statistics.median(values)
        print(f"whole app     {name:18s} {median:7.1f} us  (+{median - base:.1f})")
    for client in clients.values():
        await client.aclose()
    for lifespan in lifespans:
        await lifespan.__aexit__(None, None, None)


def main(total: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        logs.configure(Settings(database_url=f"sqlite:///{folder}/unused.db"))
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        with Path(folder, "server.log").open("w") as log_file:
            handler.setStream(log_file)
            for noisy in ("alembic", "httpx"):
                logging.getLogger(noisy).setLevel(logging.WARNING)
            asyncio.run(layer_alone())
            asyncio.run(whole_app(Path(folder), total))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
