"""Knowing at once when a long-poll's client has gone, so the poll ends (and claims
nothing) instead of holding a slot until its window closes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import Request


async def _watch(request: Request, gone: asyncio.Event) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


@contextlib.asynccontextmanager
async def client_gone(request: Request) -> AsyncIterator[asyncio.Event]:
    """An event set when the client disconnects (read after the body was consumed)."""
    gone = asyncio.Event()
    watcher = asyncio.create_task(_watch(request, gone))
    try:
        yield gone
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
