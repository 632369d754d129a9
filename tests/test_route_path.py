"""The path routes match, as Starlette's router takes it: without the root path a proxy
mounts the gateway under, and only when the root path ends at a segment."""

from __future__ import annotations

import pytest

from app.route_index import route_path


@pytest.mark.parametrize(
    ("root_path", "path", "expected"),
    [
        ("", "/api/v1/namespaces", "/api/v1/namespaces"),
        ("/gw", "/gw/api/v1/namespaces", "/api/v1/namespaces"),
        ("/gw", "/gw", ""),
        ("/gw", "/gwx/api", "/gwx/api"),  # not under /gw: a segment that starts alike
        ("/gw", "/api/v1/namespaces", "/api/v1/namespaces"),  # a proxy that kept no prefix
    ],
)
def test_route_path(root_path: str, path: str, expected: str) -> None:
    assert route_path({"type": "http", "path": path, "root_path": root_path}) == expected
