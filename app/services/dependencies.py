"""What a service may be given, one read-only attribute per protocol, and the sets that
several services share. A service names exactly what it reads: one to three plain
parameters, or a Protocol made of these (``class Querying(HasDb, HasClock, Protocol)``),
declared in its module unless several modules share the set. The composition root,
``app.context.AppContext``, has every one of them as a plain attribute or a property, so
it satisfies each protocol structurally and the doors pass it as it is: typing only, no
wrapper or copy at run time.

A set lists single attributes (Has...), in the order they are declared here, and never
inherits another set: protocols are structural, so a larger set is a subtype of a smaller
one without inheriting it, and sets inheriting sets soon meet an inconsistent MRO.

A service never imports the app context, the doors or the app (tests/test_layers.py)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from app.clock import Clock
from app.db.database import Database
from app.observability.metrics import Metrics
from app.rate_limits.limiter import RateLimiter
from app.services.cluster import Self
from app.services.namespace_cache import NamespaceCache
from app.services.notifier import Notifier
from app.services.poller_ledger import PollerLedger
from app.services.shards import Ownership
from app.services.tokens import TokenSigner
from app.settings import Settings

# One attribute each (read-only properties, so plain attributes satisfy them too).


class HasDb(Protocol):
    @property
    def db(self) -> Database: ...


class HasClock(Protocol):
    @property
    def clock(self) -> Clock: ...


class HasSettings(Protocol):
    @property
    def settings(self) -> Settings: ...


class HasNamespaces(Protocol):
    @property
    def namespaces(self) -> NamespaceCache: ...


class HasNotifier(Protocol):
    @property
    def notifier(self) -> Notifier: ...


class HasSigner(Protocol):
    @property
    def signer(self) -> TokenSigner: ...


class HasDraining(Protocol):
    """Set once the server is told to stop: a wait ends with its empty answer."""

    @property
    def draining(self) -> asyncio.Event: ...


class HasMetrics(Protocol):
    @property
    def metrics(self) -> Metrics: ...


class HasMe(Protocol):
    """This process as a cluster member."""

    @property
    def me(self) -> Self: ...


class HasOwnership(Protocol):
    """The shards this process holds leases on."""

    @property
    def ownership(self) -> Ownership: ...


class HasPollers(Protocol):
    @property
    def pollers(self) -> PollerLedger: ...


class HasRateLimiter(Protocol):
    @property
    def rate_limiter(self) -> RateLimiter: ...


# Sets several services share.


class Namespaced(HasDb, HasNamespaces, Protocol):
    """An operation that resolves its namespace through the cache (or tells the cache a
    namespace changed) and runs on the database."""


class Answering(HasDb, HasClock, HasNamespaces, HasNotifier, HasSigner, Protocol):
    """A worker's answer to a workflow or activity task: its namespace as its transaction
    sees it, the task token opened, the run's change written and its waiters woken."""


# The claims and polls of workflow and activity tasks (app.services.activities and
# workflow_tasks, over app.services.matching, whose own sets are Claiming and Polling).


class TaskStarting(HasDb, HasClock, HasNotifier, HasSigner, HasMetrics, HasOwnership, Protocol):
    """A claim that starts the task it takes (activities.claim, workflow_tasks.claim):
    the run's change written and its waiters woken, the task token sealed."""


class WorkerPolling(
    HasDb,
    HasClock,
    HasNamespaces,
    HasNotifier,
    HasSigner,
    HasDraining,
    HasMetrics,
    HasOwnership,
    HasPollers,
    Protocol,
):
    """A poll that starts the task it claims (activities.poll, workflow_tasks.poll): what
    matching.poll reads (matching.Polling) and what the claim reads (TaskStarting)."""
