"""The load generator: N concurrent clients repeating one HTTP call, timed per call, and
the figures a run yields (rate, p50, p99), plus the server's memory from /proc.

Calls go through aiohttp. httpx's async client spent 1.9-2.3 ms of CPU per request at
16 concurrent requests on the bench's 2-core machine (aiohttp 0.14-0.19 ms), so with
httpx the load generator took most of a core and the figures measured it, not the
servers."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

Call = Callable[[int], Awaitable[bool]]


@dataclass
class Reply:
    status: int
    body: Any  # the JSON body, or None

    def json_field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


class Http:
    """The load generator's HTTP client: JSON in, status and JSON out. A path starting
    with "/" is relative to ``base_url``."""

    def __init__(self, connections: int = 256, timeout: float = 60.0, base_url: str = "") -> None:
        self.base_url = base_url
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._session.close()

    async def get(self, url: str, params: dict[str, str] | None = None) -> Reply:
        async with self._session.get(self._absolute(url), params=params) as response:
            return Reply(response.status, await _body(response))

    async def post(self, url: str, json: dict[str, Any]) -> Reply:
        async with self._session.post(self._absolute(url), json=json) as response:
            return Reply(response.status, await _body(response))

    def _absolute(self, url: str) -> str:
        return self.base_url + url if url.startswith("/") else url


async def _body(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


@dataclass
class Sample:
    """One load run: how many calls, how long, each call's latency, and failures."""

    calls: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


async def drive(call: Call, total: int, concurrency: int) -> Sample:
    """``total`` calls from ``concurrency`` clients; call(n) returns whether it succeeded."""
    numbers = itertools.count()
    latencies: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        while (n := next(numbers)) < total:
            began = time.perf_counter()
            ok = await call(n)
            latencies.append(time.perf_counter() - began)
            failures += not ok

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Sample(total, time.perf_counter() - began, latencies, failures)


@dataclass
class Figure:
    """One row of the table: a value per run for the gateway and, if measured, for Temporal."""

    name: str
    unit: str
    higher_is_better: bool
    gateway: list[float] = field(default_factory=list)
    temporal: list[float] = field(default_factory=list)

    @staticmethod
    def _cell(values: list[float]) -> str:
        if not values:
            return "—"
        middle = statistics.median(values)
        text = f"{middle:,.1f}" if middle < 100 else f"{middle:,.0f}"
        if len(values) > 1:
            text += f" ({min(values):,.4g} to {max(values):,.4g})"
        return text

    def ratio(self) -> str:
        if not self.gateway or not self.temporal:
            return "—"
        ours, theirs = statistics.median(self.gateway), statistics.median(self.temporal)
        if ours <= 0 or theirs <= 0:
            return "—"
        better = ours / theirs if self.higher_is_better else theirs / ours
        return f"{better:.2f}x"

    def row(self) -> list[str]:
        return [
            self.name,
            self.unit,
            self._cell(self.gateway),
            self._cell(self.temporal),
            self.ratio(),
        ]


def table(figures: list[Figure]) -> str:
    """A Markdown table; "ratio" is how many times better the gateway is (>1 leads)."""
    head = ["figure", "unit", "gateway median (spread)", "Temporal median (spread)", "ratio"]
    rows = [head, ["---"] * len(head), *(f.row() for f in figures)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, from /proc, in MiB."""
    fields: dict[str, float] = {}
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return math.nan, math.nan
    for line in status.read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = float(value.split()[0]) / 1024
    return fields.get("VmRSS", math.nan), fields.get("VmHWM", math.nan)


def tree_memory_mib(pid: int) -> tuple[float, float]:
    """Like memory_mib, summed over the process and its children (Temporal's CLI runs the
    server in a child process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid] + ([int(c) for c in children.read_text().split()] if children.exists() else [])
    now, peak = 0.0, 0.0
    for each in pids:
        rss, hwm = memory_mib(each)
        if not math.isnan(rss):
            now, peak = now + rss, peak + hwm
    return now, peak
