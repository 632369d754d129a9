"""Waiting for a workflow's outcome (GetWorkflowResult): the close event, read through a
history long poll on CLOSE_EVENT, reduced to what a caller wants (status, result or
failure)."""

from __future__ import annotations

from typing import Any

from app.db.tables import NamespaceRow
from app.models.workflows import HistoryEventFilterType
from app.services import history

MAX_WAIT_SECONDS = 50.0
# The attribute that carries each outcome's value.
_VALUE_FIELDS = {
    "WORKFLOW_EXECUTION_COMPLETED": "result",
    "WORKFLOW_EXECUTION_FAILED": "failure",
    "WORKFLOW_EXECUTION_CANCELED": "details",
    "WORKFLOW_EXECUTION_TERMINATED": "details",
}


async def await_result(
    ctx: history.Reading,
    namespace: str,
    workflow_id: str,
    run_id: str,
    wait_seconds: float | None = None,
) -> dict[str, Any]:
    """The outcome of the run's chain, waiting up to ``wait_seconds`` (None: the server's
    history long-poll window; at most MAX_WAIT_SECONDS) for it to close: a run closed
    into a retry, cron or continue-as-new is followed to the run after it, as Temporal's
    clients do. A chain still open at the end answers with status RUNNING."""
    if wait_seconds is None:
        wait_seconds = ctx.settings.history_long_poll_seconds
    ns = await ctx.namespaces.get(ctx.db, namespace)
    deadline = ctx.clock.now().timestamp() + min(wait_seconds, MAX_WAIT_SECONDS)
    while True:
        remaining = max(0.0, deadline - ctx.clock.now().timestamp())
        answer = await _await_run(ctx, ns, workflow_id, run_id, remaining)
        following = answer.get("new_execution_run_id")
        if not following:
            return answer
        run_id = following


async def _await_run(
    ctx: history.Paging, ns: NamespaceRow, workflow_id: str, run_id: str, wait_seconds: float
) -> dict[str, Any]:
    page = await history.get_page(
        ctx,
        ns,
        workflow_id,
        run_id,
        1,
        "",
        wait_seconds > 0,
        HistoryEventFilterType.CLOSE_EVENT,
        window=wait_seconds,
    )
    answer: dict[str, Any] = {"workflow_id": workflow_id, "run_id": page.run.run_id}
    if not page.events:
        return {**answer, "status": "RUNNING"}
    event = page.events[0]
    event_type = event["event_type"]
    attributes = event[f"{event_type.lower()}_event_attributes"]
    answer.update(
        status=event_type.removeprefix("WORKFLOW_EXECUTION_"),
        close_time=event["event_time"],
        close_event=event,
    )
    field = _VALUE_FIELDS.get(event_type)
    if field is not None:
        answer[field] = attributes.get(field)
    for name in ("retry_state", "new_execution_run_id"):
        if attributes.get(name):
            answer[name] = attributes[name]
    return answer
