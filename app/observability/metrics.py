"""The gateway's Prometheus metrics, in a registry of each app's own (tests build many
apps in one process; the global default registry would refuse the second).

Hot paths call the methods below. Each resolves its labelled child once and caches it
(``labels()`` costs ~1.5 µs, an ``inc()`` on a held child ~1 µs), and what is counted for
a transaction is counted after it commits, so a retried or failed write counts nothing.
``NoMetrics`` (TEMPORAL_GATEWAY_METRICS_ENABLED=false) takes the same calls and does
nothing. docs/metrics.md lists every metric with its labels and meaning."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "temporal_gateway_"
# Requests: from a cached read (~0.5 ms) to a long poll's whole window (up to 50 s).
REQUEST_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)  # fmt: skip
# Task written -> handed to a poller: ~2 ms with a poller waiting, else until one comes.
DISPATCH_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
)  # fmt: skip
# A timer due -> fired: the processor is woken for each timer it will find due, so a
# late timer means a busy or stalled processor.
TIMER_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# A commit: ~0.1 ms without fsync, a few ms with, more on a slow disk or busy PostgreSQL.
COMMIT_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
)  # fmt: skip


class TaskQueueBacklog(Collector):
    """Tasks written and not yet handed to a poller, per queue: read from the database
    when /metrics is scraped (app.observability.scrape sets ``rows`` just before)."""

    def __init__(self) -> None:
        self.rows: Sequence[tuple[str, str, str, int]] = ()

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            PREFIX + "task_queue_backlog",
            "Tasks written to a task queue and not yet handed to a poller.",
            labels=("namespace", "task_queue", "task_type"),
        )

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for namespace, task_queue, task_type, count in self.rows:
            family.add_metric((namespace, task_queue, task_type), count)
        return [family]


class Metrics:
    enabled = True

    def __init__(self, version: str) -> None:
        self.registry = registry = CollectorRegistry()
        Gauge(
            PREFIX + "build_info",
            "Always 1; the gateway's version in its label.",
            ["version"],
            registry=registry,
        ).labels(version).set(1)
        self.requests = Counter(
            PREFIX + "http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            PREFIX + "http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            ["method", "route"],
            registry=registry,
            buckets=REQUEST_BUCKETS,
        )
        self.grpc_requests = Counter(
            PREFIX + "grpc_requests",
            "gRPC calls answered, by RPC (/service/method) and status code.",
            ["rpc", "code"],
            registry=registry,
        )
        self.grpc_request_seconds = Histogram(
            PREFIX + "grpc_request_duration_seconds",
            "Time from a gRPC call's arrival to its answer.",
            ["rpc"],
            registry=registry,
            buckets=REQUEST_BUCKETS,
        )
        self.long_polls = Gauge(
            PREFIX + "long_polls_waiting",
            "Long polls waiting for work now: workflow/activity task-queue polls and "
            "history (wait_new_event and result) polls.",
            ["kind"],
            registry=registry,
        )
        self.dispatch_seconds = Histogram(
            PREFIX + "task_dispatch_latency_seconds",
            "Time from a task's write to its hand-over to a poller.",
            ["task_type"],
            registry=registry,
            buckets=DISPATCH_BUCKETS,
        )
        self.workflow_starts = Counter(
            PREFIX + "workflow_starts",
            "Workflow runs started (starts, signal-with-starts, children, retries, cron "
            "and continue-as-new runs).",
            registry=registry,
        )
        self.workflow_closes = Counter(
            PREFIX + "workflow_closes",
            "Workflow runs closed, by the status they closed with.",
            ["status"],
            registry=registry,
        )
        self.timer_lag_seconds = Histogram(
            PREFIX + "timer_lag_seconds",
            "Time from a timer's fire time to its firing, by timer kind.",
            ["kind"],
            registry=registry,
            buckets=TIMER_LAG_BUCKETS,
        )
        self.commit_seconds = Histogram(
            PREFIX + "db_commit_duration_seconds",
            "Time a database commit takes (on SQLite, one per group of writes).",
            registry=registry,
            buckets=COMMIT_BUCKETS,
        )
        self.rate_limit_refusals = Counter(
            PREFIX + "rate_limit_refusals",
            "Requests refused with 429 RESOURCE_EXHAUSTED, by rate-limit category.",
            ["category"],
            registry=registry,
        )
        self.backlog = TaskQueueBacklog()
        registry.register(self.backlog)
        self._long_polls: dict[str, Gauge] = {}
        self._dispatch: dict[str, Histogram] = {}
        self._closes: dict[str, Counter] = {}
        self._timer_lag: dict[str, Histogram] = {}
        self._refusals: dict[str, Counter] = {}

    def request_children(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The request counter's and histogram's children for these labels (the caller
        caches them)."""
        return (
            self.requests.labels(method, route, str(status)),
            self.request_seconds.labels(method, route),
        )

    def grpc_children(self, rpc: str, code: str) -> tuple[Counter, Histogram]:
        """The gRPC call counter's and histogram's children for these labels (the caller
        caches them)."""
        return self.grpc_requests.labels(rpc, code), self.grpc_request_seconds.labels(rpc)

    async def long_poll(self, kind: str, wait: Awaitable[bool]) -> bool:
        """Await a long poll's wait, counted in the waiting gauge meanwhile."""
        gauge = self._long_polls.get(kind)
        if gauge is None:
            gauge = self._long_polls[kind] = self.long_polls.labels(kind)
        gauge.inc()
        try:
            return await wait
        finally:
            gauge.dec()

    def task_dispatched(self, task_type: str, seconds: float) -> None:
        child = self._dispatch.get(task_type)
        if child is None:
            child = self._dispatch[task_type] = self.dispatch_seconds.labels(task_type)
        child.observe(max(0.0, seconds))

    def workflow_started(self) -> None:
        self.workflow_starts.inc()

    def workflow_closed(self, status: str) -> None:
        child = self._closes.get(status)
        if child is None:
            child = self._closes[status] = self.workflow_closes.labels(status)
        child.inc()

    def timer_fired(self, kind: str, lag_seconds: float) -> None:
        child = self._timer_lag.get(kind)
        if child is None:
            child = self._timer_lag[kind] = self.timer_lag_seconds.labels(kind)
        child.observe(max(0.0, lag_seconds))

    def committed(self, seconds: float) -> None:
        self.commit_seconds.observe(seconds)

    def rate_limited(self, category: str) -> None:
        child = self._refusals.get(category)
        if child is None:
            child = self._refusals[category] = self.rate_limit_refusals.labels(category)
        child.inc()


class NoMetrics(Metrics):
    """Metrics off: the hooks cost a method call and record nothing."""

    enabled = False

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.backlog = TaskQueueBacklog()

    async def long_poll(self, kind: str, wait: Awaitable[bool]) -> bool:
        return await wait

    def task_dispatched(self, task_type: str, seconds: float) -> None:
        pass

    def workflow_started(self) -> None:
        pass

    def workflow_closed(self, status: str) -> None:
        pass

    def timer_fired(self, kind: str, lag_seconds: float) -> None:
        pass

    def committed(self, seconds: float) -> None:
        pass

    def rate_limited(self, category: str) -> None:
        pass


NO_METRICS = NoMetrics()
