"""What a request handler needs, built once per app: settings, database, clock, page
tokens and the in-process notifier.

The composition root: a service takes only what it reads, as plain values or as a
Protocol of read-only attributes (app/services/dependencies.py), which AppContext
satisfies structurally, so the doors pass it whole. This module imports the services;
no service imports it (tests/test_layers.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request

from app.auth import Authenticator
from app.clock import Clock
from app.db.database import Database
from app.observability.metrics import Metrics
from app.rate_limits.limiter import RateLimiter
from app.services.cluster import Self
from app.services.loops import Loop
from app.services.namespace_cache import NamespaceCache
from app.services.notifier import Notifier
from app.services.poller_ledger import PollerLedger
from app.services.shards import Ownership
from app.services.tokens import TokenSigner
from app.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    notifier: Notifier
    authenticator: Authenticator = field(init=False)

    rate_limiter: RateLimiter = field(init=False)
    namespaces: NamespaceCache = field(init=False)
    me: Self = field(init=False)
    ownership: Ownership = field(default_factory=Ownership)
    pollers: PollerLedger = field(default_factory=PollerLedger)

    def __post_init__(self) -> None:
        self.me = Self.of_this_process(self.settings.host, self.settings.port)
        self.authenticator = Authenticator(self.settings, self.clock)
        self.rate_limiter = RateLimiter(self.settings, self.clock)
        self.namespaces = NamespaceCache(self.clock)

    tokens: TokenSigner | None = None
    loops: list[Loop] = field(default_factory=list)
    # Set once the server is told to stop (SIGTERM/SIGINT): long polls answer at once
    # with their empty answer and none starts waiting; /readyz answers 503.
    draining: asyncio.Event = field(default_factory=asyncio.Event)

    def drain(self) -> None:
        """Answer every waiting long poll now: each wait re-checks ``draining`` when woken
        (one flag, not a task per poll, so a waiting poll costs nothing more)."""
        self.draining.set()
        self.notifier.notify_all()

    @property
    def metrics(self) -> Metrics:
        """The app's metrics, held by its database (which times its commits with them)."""
        return self.db.metrics

    @property
    def signer(self) -> TokenSigner:
        if self.tokens is None:
            raise RuntimeError("the token signer is available once the app has started")
        return self.tokens


async def context(request: Request) -> AppContext:
    """(async: FastAPI runs a plain function dependency on its thread pool, a thread hop
    per request.)"""
    ctx: AppContext = request.app.state.ctx
    return ctx
