"""OpenAPI declarations shared by the routers, and the operations' names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app.models.common import ErrorResponse

_DESCRIPTIONS = {
    400: "INVALID_ARGUMENT or FAILED_PRECONDITION: the request cannot be served as sent.",
    401: "UNAUTHENTICATED: missing, invalid or expired credentials (with WWW-Authenticate).",
    403: "PERMISSION_DENIED: the credential lacks the route's permission or namespace.",
    404: "NOT_FOUND, NAMESPACE_NOT_FOUND or WORKFLOW_EXECUTION_NOT_FOUND.",
    409: "ALREADY_EXISTS, WORKFLOW_EXECUTION_ALREADY_STARTED or WORKFLOW_EXECUTION_COMPLETED.",
    429: "RESOURCE_EXHAUSTED: a rate limit or the namespace's cap on running executions was "
    "hit; RateLimitExceeded details and Retry-After say when to come back.",
    500: "INTERNAL: an unexpected failure; the body carries a correlation id.",
    503: "UNAVAILABLE: the database is busy or unreachable; retry.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error responses of a route, always in the spec's envelope."""
    chosen = sorted({400, 401, 403, 429, 500, 503, *statuses})
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in chosen}


def operation_id(route: APIRoute) -> str:
    """The route's operationId: Temporal's RPC name, from its summary, so generated clients
    read as Temporal's do. A route serving the current run ("SignalWorkflowExecution
    (current run)") gets a suffix ("SignalWorkflowExecutionCurrentRun") to stay apart
    from its twin under /runs/{run_id}."""
    words = re.findall(r"[A-Za-z0-9]+", route.summary or route.name)
    return "".join(word[0].upper() + word[1:] for word in words)


def name_operations(routes: Iterable[BaseRoute]) -> None:
    """Set every API route's operationId. The routers' routes join the app's list as they
    are (app/main.py), so the app's generate_unique_id_function never sees them."""
    for route in routes:
        if isinstance(route, APIRoute):
            route.operation_id = operation_id(route)
