"""Queries, answered by workers and never written to history. A query travels either as
a query task on the workflow's task queue (no workflow task pending) or attached to the
run's next workflow task (one is pending), as Temporal delivers them. Queries are not
durable: the registry lives in this process's memory."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from app.errors import ApiError, ErrorCode


@dataclass
class PendingQuery:
    namespace_id: str
    workflow_id: str
    run_id: str
    task_queue: str
    query: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    answer: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def run_key(self) -> tuple[str, str, str]:
        return (self.namespace_id, self.workflow_id, self.run_id)


class QueryRegistry:
    MAX_ATTACHED_PER_RUN = 10

    def __init__(self) -> None:
        self._direct: dict[tuple[str, str], deque[PendingQuery]] = defaultdict(deque)
        self._attached: dict[tuple[str, str, str], list[PendingQuery]] = defaultdict(list)
        self._delivered: dict[str, PendingQuery] = {}

    def send_direct(self, query: PendingQuery) -> None:
        self._direct[(query.namespace_id, query.task_queue)].append(query)

    def attach(self, query: PendingQuery) -> None:
        waiting = self._attached[query.run_key]
        if len(waiting) >= self.MAX_ATTACHED_PER_RUN:
            raise ApiError(
                ErrorCode.RESOURCE_EXHAUSTED,
                "Too many queries are waiting for this workflow's next task.",
                [{"type": "ResourceExhausted", "cause": "BUSY_WORKFLOW"}],
            )
        waiting.append(query)

    def take_direct(self, namespace_id: str, task_queue: str) -> PendingQuery | None:
        waiting = self._direct.get((namespace_id, task_queue))
        while waiting:
            query = waiting.popleft()
            if not query.answer.done():
                self._delivered[query.id] = query
                return query
        return None

    def give_back(self, query: PendingQuery) -> None:
        """A query task that could not be handed out goes back to the front."""
        self._delivered.pop(query.id, None)
        self._direct[(query.namespace_id, query.task_queue)].appendleft(query)

    def take_attached(self, run_key: tuple[str, str, str]) -> list[PendingQuery]:
        queries = [q for q in self._attached.pop(run_key, []) if not q.answer.done()]
        for query in queries:
            self._delivered[query.id] = query
        return queries

    def has_attached(self, run_key: tuple[str, str, str]) -> bool:
        return any(not q.answer.done() for q in self._attached.get(run_key, []))

    def resolve(self, query_id: str, answer: dict[str, Any]) -> bool:
        query = self._delivered.pop(query_id, None)
        if query is None or query.answer.done():
            return False
        query.answer.set_result(answer)
        return True

    def forget(self, query: PendingQuery) -> None:
        self._delivered.pop(query.id, None)
        attached = self._attached.get(query.run_key)
        if attached and query in attached:
            attached.remove(query)
        direct = self._direct.get((query.namespace_id, query.task_queue))
        if direct and query in direct:
            direct.remove(query)
