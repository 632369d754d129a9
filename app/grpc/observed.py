"""Each gRPC call timed once, as app.observability.requests times an HTTP request:
counted and timed in the metrics by its RPC and status code, and written to the access
log (method ``GRPC``, the RPC's path, the numeric status code: 0 is OK)."""

from __future__ import annotations

from time import perf_counter
from typing import Any

import grpc

from app import logs
from app.observability.metrics import Metrics


class ObservedCalls:
    def __init__(self, metrics: Metrics, access_log: bool) -> None:
        self.metrics = metrics if metrics.enabled else None
        self.access_log = access_log
        # (rpc path, code) -> the counter's and histogram's children.
        self._children: dict[tuple[str, grpc.StatusCode], tuple[Any, Any]] = {}

    @staticmethod
    def start() -> float:
        return perf_counter()

    def done(self, path: str, code: grpc.StatusCode, started: float, peer: str) -> None:
        seconds = perf_counter() - started
        if self.metrics is not None:
            children = self._children.get((path, code))
            if children is None:
                children = self.metrics.grpc_children(path, code.name)
                self._children[(path, code)] = children
            counter, histogram = children
            counter.inc()
            histogram.observe(seconds)
        if self.access_log:
            logs.access("GRPC", path, code.value[0], seconds * 1000, peer or "-")
