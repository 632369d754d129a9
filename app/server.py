"""Running the app under uvicorn, and stopping it in seconds.

uvicorn's Server, told to stop, closes its listeners, waits for every open connection to
finish its request, and only then runs the lifespan's shutdown: a long poll open at that
moment held the stop for its whole window (up to 50 s). Here the signal also drains the
app at once (every long poll answers with its empty answer, /readyz turns 503), so the
wait is for requests in flight only; ``shutdown_grace_seconds`` bounds it all the same.
A second signal changes nothing: the stop under way is already bounded."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("app")
STARTUP_FAILURE = 3  # uvicorn.run's exit status when the server did not start


class GatewayServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop = on_stop
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Not uvicorn's: that one records the signal to raise it again after a clean
        stop (the process then dies by it, status 143, not 0), and makes a second Ctrl+C
        skip the lifespan's shutdown (leases held until they lapse) and cancel requests
        (500s, tracebacks). This may run inside a signal handler, between any two
        bytecodes of the loop: only a flag here, the rest on the loop."""
        first = not self.should_exit
        self.should_exit = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping, sig, first)

    def _stopping(self, sig: int, first: bool) -> None:
        name = signal.Signals(sig).name
        if not first:
            log.info("%s: already stopping", name)
            return
        log.info(
            "%s: stopping (open long polls answered now, requests in flight given %g s)",
            name,
            self.config.timeout_graceful_shutdown,
        )
        self._on_stop()


def run(app: Any, on_stop: Callable[[], None], grace_seconds: int, **options: Any) -> None:
    """uvicorn.run(app, **options) with GatewayServer; ``on_stop`` runs on the loop at
    the first signal."""
    config = uvicorn.Config(app, timeout_graceful_shutdown=grace_seconds, **options)
    server = GatewayServer(config, on_stop)
    server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
