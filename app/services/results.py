"""Waiting for a workflow's outcome: the close event, read through a history long poll
on CLOSE_EVENT, reduced to what a caller wants (status, result or failure)."""

from __future__ import annotations

from typing import Any

from app.context import AppContext
from app.db.tables import NamespaceRow
from app.models.workflows import HistoryEventFilterType
from app.services import executions, history

MAX_WAIT_SECONDS = 50.0
# The attribute that carries each outcome's value.
_VALUE_FIELDS = {
    "WORKFLOW_EXECUTION_COMPLETED": "result",
    "WORKFLOW_EXECUTION_FAILED": "failure",
    "WORKFLOW_EXECUTION_CANCELED": "details",
    "WORKFLOW_EXECUTION_TERMINATED": "details",
}


async def await_result(
    ctx: AppContext, ns: NamespaceRow, workflow_id: str, run_id: str, wait_seconds: float
) -> dict[str, Any]:
    """The run's outcome, waiting up to ``wait_seconds`` for it to close; a run still open
    at the end answers with status RUNNING."""
    async with ctx.db.read() as session:
        row = await executions.load(session, ns.id, workflow_id, run_id)
    page = await history.get_page(
        ctx,
        ns,
        workflow_id,
        row.run_id,
        1,
        "",
        wait_seconds > 0,
        HistoryEventFilterType.CLOSE_EVENT,
        window=min(wait_seconds, MAX_WAIT_SECONDS),
    )
    answer: dict[str, Any] = {"workflow_id": workflow_id, "run_id": row.run_id}
    if not page.events:
        return {**answer, "status": "RUNNING"}
    event = page.events[0]
    event_type = event["event_type"]
    attributes = event[f"{event_type.lower()}_event_attributes"]
    status = event_type.removeprefix("WORKFLOW_EXECUTION_")
    answer.update(status=status, close_time=event["event_time"], close_event=event)
    field = _VALUE_FIELDS.get(event_type)
    if field is not None:
        answer[field] = attributes.get(field)
    if "retry_state" in attributes:
        answer["retry_state"] = attributes["retry_state"]
    if attributes.get("new_execution_run_id"):
        answer["new_execution_run_id"] = attributes["new_execution_run_id"]
    return answer
