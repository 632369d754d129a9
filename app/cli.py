"""Command line: ``temporal-gateway serve`` (also ``python -m app serve``), ``token
create`` (a development JWT signed with the configured secret) and ``openapi`` (print the
generated OpenAPI document as YAML)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import time

import yaml

from app import auth, logs, server
from app.db.database import describe_url
from app.settings import Settings

log = logging.getLogger("app")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="temporal-gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 7233)")
    serve.add_argument("--database-url", help="sqlite:///file.db or postgresql://…")
    serve.add_argument(
        "--allow-unauthenticated-network",
        action="store_true",
        help="serve without authentication on a non-loopback address (unsafe)",
    )
    token = commands.add_parser("token", help="development tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="mint a JWT with the configured secret")
    create.add_argument("--sub", required=True, help="the subject (who the token is for)")
    create.add_argument(
        "--permissions",
        required=True,
        help="comma-separated, e.g. temporal:workflow:*,temporal:namespace:read",
    )
    create.add_argument(
        "--namespace",
        action="append",
        default=[],
        help="namespace the token may act in (repeat for several)",
    )
    create.add_argument("--ttl", default="1h", help="lifetime, e.g. 30m, 12h, 7d")
    keys = commands.add_parser("api-key", help="API keys, on the configured database")
    key_commands = keys.add_subparsers(dest="key_command", required=True)
    key_create = key_commands.add_parser("create", help="issue a key (printed once)")
    key_create.add_argument("--name", required=True)
    key_create.add_argument("--permissions", required=True, help="comma-separated")
    key_create.add_argument("--namespace", action="append", default=[])
    key_create.add_argument("--task-queue", action="append", default=[])
    key_create.add_argument("--ttl", help="lifetime, e.g. 30d; absent: no expiry")
    key_commands.add_parser("list", help="list keys (never the keys themselves)")
    key_revoke = key_commands.add_parser("revoke", help="revoke a key by id")
    key_revoke.add_argument("key_id")
    commands.add_parser("openapi", help="print the OpenAPI document (YAML)")
    return parser


async def _api_key_command(args: argparse.Namespace) -> str:
    from datetime import UTC, datetime

    from app.db.database import Database
    from app.db.migrate import migrate
    from app.services import api_keys

    settings = Settings()
    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        await migrate(db)
        now = datetime.now(UTC)
        async with db.write() as uow:
            if args.key_command == "create":
                permissions = [p.strip() for p in args.permissions.split(",") if p.strip()]
                ttl = _seconds(args.ttl) if args.ttl else None
                row, key = await api_keys.issue(
                    uow.session, args.name, permissions, args.namespace, args.task_queue, ttl, now
                )
                return f"{key}\n(id {row.id}; this is the only time the key is shown)\n"
            if args.key_command == "revoke":
                await api_keys.revoke(uow.session, args.key_id, now)
                return f"revoked {args.key_id}\n"
            rows = await api_keys.list_keys(uow.session)
            return "".join(
                f"{r.id}  {r.name}  {','.join(r.permissions)}  "
                f"{'revoked' if r.revoked_time else 'active'}\n"
                for r in rows
            )
    finally:
        await db.close()


def openapi_yaml() -> str:
    from app.main import create_app

    document = create_app(Settings(database_url="sqlite:///:memory:")).openapi()
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _seconds(text: str) -> int:
    unit = text[-1:]
    if unit in DURATION_UNITS and text[:-1].isdigit():
        return int(text[:-1]) * DURATION_UNITS[unit]
    raise SystemExit(f"invalid --ttl {text!r}; use e.g. 30m, 12h, 7d")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Without authentication the server serves only on loopback, unless told otherwise."""
    if settings.auth_enabled:
        return
    if not _is_loopback(settings.host) and not settings.allow_unauthenticated_network:
        raise SystemExit(
            f"refusing to serve on {settings.host} without authentication: set "
            "TEMPORAL_GATEWAY_JWT_SECRET (or TEMPORAL_GATEWAY_JWT_PUBLIC_KEY_FILE), or pass "
            "--allow-unauthenticated-network if you really mean it"
        )
    log.warning(
        "AUTHENTICATION IS OFF: every caller may do everything. Set "
        "TEMPORAL_GATEWAY_JWT_SECRET to require Bearer tokens."
    )


def _serve(args: argparse.Namespace) -> None:
    overrides = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
            "allow_unauthenticated_network": args.allow_unauthenticated_network or None,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    logs.configure(settings)  # text or JSON lines, uvicorn's included
    check_bind(settings)
    try:
        auth.check_secret(settings)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    from app.main import create_app

    app = create_app(settings)
    try:  # here, so that a second server on one SQLite file gets one clear line
        app.state.ctx.db.claim_sole_server()
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    log.info(
        "Temporal Gateway listening on http://%s:%d (database %s)",
        settings.host,
        settings.port,
        describe_url(settings.database_url),
    )
    # uvicorn.run, but a signal also answers every open long poll at once (app.server).
    server.run(
        app,
        app.state.ctx.drain,
        settings.shutdown_grace_seconds,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # The gateway writes the access log itself (app.observability.requests), in its
        # own format; uvicorn's loggers go to the root logger logs.configure set up.
        access_log=False,
        log_config=None,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        sys.stdout.write(openapi_yaml())
    elif args.command == "api-key":
        import asyncio

        from app.errors import ApiError

        try:
            sys.stdout.write(asyncio.run(_api_key_command(args)))
        except ApiError as exc:
            raise SystemExit(exc.message) from None
    elif args.command == "token":
        try:
            token = auth.mint(
                Settings(),
                args.sub,
                [p.strip() for p in args.permissions.split(",") if p.strip()],
                args.namespace,
                _seconds(args.ttl),
                int(time.time()),
            )
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        sys.stdout.write(token + "\n")
    else:
        _serve(args)
