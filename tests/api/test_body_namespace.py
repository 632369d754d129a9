"""Every body route under a namespace refuses a body that names another namespace: one
rule (StrictJsonRoute), whatever the route."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.conftest import assert_error


def _body_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or "{namespace}" not in route.path:
            continue
        if route.body_field is None:
            continue
        path = route.path
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "default" if name == "namespace" else "x")
        routes.extend((method, path) for method in route.methods)
    return routes


async def test_every_body_route_under_a_namespace_checks_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    routes = _body_routes(app)
    assert len(routes) > 15  # the workflow, worker, query, visibility and namespace routes
    for method, path in routes:
        response = await client.request(method, path, json={"namespace": "another"})
        error = assert_error(response, 400, "INVALID_ARGUMENT")
        assert error["details"][0]["field"] == "namespace", (method, path, error)


@pytest.mark.parametrize("named", ["default", "", None])
async def test_the_same_namespace_or_none_passes_the_rule(
    client: httpx.AsyncClient, named: str | None
) -> None:
    body = {"workflow_id": "w", "workflow_type": {"name": "T"}, "task_queue": "q"}
    if named is not None:
        body["namespace"] = named
    response = await client.post("/api/v1/namespaces/default/workflows", json=body)
    assert response.status_code == 200, response.text
