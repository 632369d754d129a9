"""The API explorers (/docs, /redoc) work offline: their pages reference no external host
and every asset they reference is served by the gateway itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

PAGES = ["/docs", "/redoc"]
ORIGIN = "http://gateway"  # the test client's base URL: the server's own origin
KNOWN_CDNS = [
    "cdn.jsdelivr.net",
    "unpkg.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "cdn.redoc.ly",  # ReDoc's bundle loads its sidebar logo from there
]
URL = re.compile(r"""(?:https?:)?//[^\s"'<>()]+""")
# Swagger UI is told where the document is in JavaScript: `url: '/openapi.json'`.
SCRIPT_URL = re.compile(r"""\burl:\s*['"]([^'"]+)['"]""")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.found.append(value)


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found + SCRIPT_URL.findall(html)


@pytest.mark.parametrize("page", PAGES)
async def test_page_references_no_external_host(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200, response.text
    html = response.text
    for cdn in KNOWN_CDNS:
        assert cdn not in html, f"{page} loads from {cdn}"
    external = [u for u in URL.findall(html) if not u.startswith(ORIGIN)]
    assert not external, f"{page} references external URLs: {external}"


@pytest.mark.parametrize("page", PAGES)
async def test_referenced_assets_are_served(client: httpx.AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    references = _references(html)
    assert any(r.endswith(".js") for r in references), references
    assert "/openapi.json" in references, references
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, f"{page} references {reference}: {asset.status_code}"
        assert asset.content, f"{page} references {reference}, which is empty"
        for cdn in KNOWN_CDNS:
            assert cdn.encode() not in asset.content, f"{reference} loads from {cdn}"


@pytest.mark.parametrize("page", PAGES)
async def test_behind_a_root_path_the_pages_reference_it(app: FastAPI, page: str) -> None:
    """Mounted under a prefix by a proxy, the pages name their assets and the document
    under that prefix, and each is served there."""
    transport = httpx.ASGITransport(app=app, root_path="/gw")
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        html = (await client.get(f"/gw{page}")).text
        references = _references(html)
        assert "/gw/openapi.json" in references, references
        for reference in references:
            assert reference.startswith("/gw/"), reference
            assert (await client.get(reference)).status_code == 200, reference


# Temporal's RPC names: each word capitalised, nothing else (no snake_case, no path).
PASCAL_CASE = re.compile(r"(?:[A-Z][a-z0-9]*)+")
RPC_NAMES = [
    "StartWorkflowExecution",
    "SignalWorkflowExecution",
    "RequestCancelWorkflowExecution",
    "TerminateWorkflowExecution",
    "GetWorkflowExecutionHistory",
    "PollWorkflowTaskQueue",
    "RespondWorkflowTaskCompleted",
    "PollActivityTaskQueue",
    "RespondActivityTaskCompleted",
    "RecordActivityTaskHeartbeat",
    "RegisterNamespace",
    "ListWorkflowExecutions",
]


async def _operations(client: httpx.AsyncClient) -> dict[tuple[str, str], dict[str, Any]]:
    document = (await client.get("/openapi.json")).json()
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


async def test_operation_ids_are_unique_rpc_names(client: httpx.AsyncClient) -> None:
    operations = await _operations(client)
    ids = [operation["operationId"] for operation in operations.values()]
    assert [i for i in ids if not PASCAL_CASE.fullmatch(i)] == []
    assert sorted(i for i in ids if ids.count(i) > 1) == []
    assert set(RPC_NAMES) <= set(ids)
    start = operations[("post", "/api/v1/namespaces/{namespace}/workflows")]
    assert start["operationId"] == "StartWorkflowExecution"


async def test_a_current_run_route_is_named_apart_from_its_run_route(
    client: httpx.AsyncClient,
) -> None:
    operations = await _operations(client)
    twins = [
        (method, path)
        for method, path in operations
        if "/runs/{run_id}" in path and (method, path.replace("/runs/{run_id}", "")) in operations
    ]
    assert len(twins) >= 7, twins
    for method, path in twins:
        run = operations[(method, path)]["operationId"]
        current = operations[(method, path.replace("/runs/{run_id}", ""))]["operationId"]
        assert current == f"{run}CurrentRun"
