"""OpenAPI declarations shared by the routers."""

from __future__ import annotations

from typing import Any

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
