"""Command line: ``temporal-gateway serve`` (also ``python -m app serve``) and
``openapi`` (print the generated OpenAPI document as YAML)."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
import yaml

from app.db.database import describe_url
from app.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="temporal-gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 7233)")
    serve.add_argument("--database-url", help="sqlite:///file.db or postgresql://…")
    commands.add_parser("openapi", help="print the OpenAPI document (YAML)")
    return parser


def openapi_yaml() -> str:
    from app.main import create_app

    document = create_app(Settings(database_url="sqlite:///:memory:")).openapi()
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        sys.stdout.write(openapi_yaml())
        return
    overrides = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("app")
    log.info(
        "Temporal Gateway listening on http://%s:%d (database %s)",
        settings.host,
        settings.port,
        describe_url(settings.database_url),
    )
    from app.main import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
