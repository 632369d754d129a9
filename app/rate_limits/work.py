"""What one request wrote, for the budgets charged after the work by how much it did
(history events, activity executions). Services record into it after their commit; the
route guard charges it when the request ends."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestWork:
    history_events: int = 0
    activity_tasks: int = 0


_current: ContextVar[RequestWork | None] = ContextVar("request_work", default=None)


def begin() -> RequestWork:
    work = RequestWork()
    _current.set(work)
    return work


def record_history_events(count: int) -> None:
    work = _current.get()
    if work is not None:
        work.history_events += count


def record_activity_task() -> None:
    work = _current.get()
    if work is not None:
        work.activity_tasks += 1
