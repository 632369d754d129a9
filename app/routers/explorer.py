"""The API explorers, /docs (Swagger UI) and /redoc (ReDoc), with nothing loaded from
anywhere but the gateway: the pages, scripts, style sheet and icon are served from the
copies fastapi-offline ships, and ReDoc's bundle is served with the one address it would
still fetch from a CDN (the Redocly logo in its sidebar) replaced by an image inline."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
SHIPPED = Path(fastapi_offline.__file__).parent / "static"
REDOC_BUNDLE = "redoc.js"  # the patched bundle, served beside the shipped assets
REDOCLY_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# A plain mark where ReDoc's sidebar credit shows Redocly's logo (an image ReDoc fetches
# from its CDN on every render); the credit's text and link stay.
INLINE_LOGO = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%2332329f'/%3E%3C/svg%3E"
)
SWAGGER_UI_PARAMETERS = {
    "persistAuthorization": True,
    # No badge that asks validator.swagger.io about the document (the default when the
    # gateway is reached by a name other than localhost).
    "validatorUrl": None,
}


@cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle with its CDN logo replaced (read once, ~1 MB)."""
    bundle = (SHIPPED / "redoc.standalone.js").read_text(encoding="utf-8")
    return bundle.replace(json.dumps(REDOCLY_LOGO_URL), json.dumps(INLINE_LOGO)).encode()


def install(app: FastAPI) -> None:
    """Serve /docs, /docs/oauth2-redirect, /redoc and their assets. The app is built with
    docs_url=None and redoc_url=None (FastAPI's own pages load from a CDN)."""
    title = app.title

    def root(request: Request) -> str:
        prefix: str = request.scope.get("root_path", "")
        return prefix

    async def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}{app.openapi_url}",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{base}/docs/oauth2-redirect",
            swagger_js_url=f"{base}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{base}{ASSETS}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return get_redoc_html(
            openapi_url=f"{base}{app.openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{base}{ASSETS}/{REDOC_BUNDLE}",
            redoc_favicon_url=f"{base}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    async def patched_redoc_bundle() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript; charset=utf-8")

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", swagger_ui_redirect, include_in_schema=False)
    app.add_api_route("/redoc", redoc, include_in_schema=False)
    app.add_api_route(f"{ASSETS}/{REDOC_BUNDLE}", patched_redoc_bundle, include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=SHIPPED), name="docs-assets")
