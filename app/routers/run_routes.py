"""Registering an operation on a run once: the spec addresses a run as
``…/workflows/{workflow_id}/runs/{run_id}…`` and real Temporal's HTTP API the current run
as ``…/workflows/{workflow_id}…``; each operation is defined once and registered on both."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter

Handler = Callable[..., Awaitable[Any]]


def _same(handler: Handler) -> Handler:
    return handler


def twin(
    router: APIRouter,
    run_path: str,
    current_path: str,
    method: str,
    summary: str,
    current_description: str | None = None,
    wrap: Callable[[Handler], Handler] = _same,
    **route: Any,
) -> Callable[[Handler], Handler]:
    """Register the handler (which takes ``run_id``) on ``run_path`` with ``summary``, and
    on ``current_path`` (no ``run_id``: it is called with ``run_id=""``) with the summary
    "<summary> (current run)", so its operationId is "<summary>CurrentRun". Both take the
    handler's description unless ``current_description`` says otherwise; ``wrap`` puts
    each endpoint behind a check the router applies to every route."""

    def register(handler: Handler) -> Handler:
        router.add_api_route(run_path, wrap(handler), methods=[method], summary=summary, **route)
        # Resolved in the handler's module: the current-run endpoint lives in this one.
        signature = inspect.signature(handler, eval_str=True)

        async def current_run(**values: Any) -> Any:
            return await handler(run_id="", **values)

        current_run.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p for p in signature.parameters.values() if p.name != "run_id"]
        )
        current_run.__name__ = f"{handler.__name__}_current_run"
        current_run.__doc__ = handler.__doc__
        current_route = dict(route)
        if current_description is not None:
            current_route["description"] = current_description
        router.add_api_route(
            current_path,
            wrap(current_run),
            methods=[method],
            summary=f"{summary} (current run)",
            **current_route,
        )
        return handler

    return register
