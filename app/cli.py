"""Command line: ``temporal-gateway serve`` (also ``python -m app serve``), ``token
create`` (a development JWT signed with the configured secret), ``api-key
create|list|revoke`` (on the server's database) and ``openapi`` (print the generated
OpenAPI document as YAML). Mistakes at start are one line each (app.preflight)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import time
from datetime import UTC, datetime

import yaml

from app import __version__, auth, logs, preflight, server
from app.db.tables import ApiKeyRow
from app.settings import Settings

log = logging.getLogger("app")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="temporal-gateway",
        description=(
            "Temporal Gateway: a Temporal-model workflow server with an HTTP/JSON API and "
            "Temporal's gRPC WorkflowService."
        ),
        epilog="Every setting is also an environment variable TEMPORAL_GATEWAY_* (README).",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}", help="print the version"
    )
    commands = parser.add_subparsers(dest="command", required=True, help="the command to run")
    serve = commands.add_parser("serve", help="run the server (REST, and gRPC unless turned off)")
    serve.add_argument("--host", help="address both ports bind, REST and gRPC (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="REST (HTTP/JSON) port (default 7243)")
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default 7233; 0 turns gRPC off)")
    serve.add_argument("--database-url", help="sqlite:///file.db or postgresql://…")
    serve.add_argument(
        "--allow-unauthenticated-network",
        action="store_true",
        help="serve without authentication on a non-loopback address, REST and gRPC alike (unsafe)",
    )
    token = commands.add_parser("token", help="development tokens")
    token_commands = token.add_subparsers(
        dest="token_command", required=True, help="what to do with tokens"
    )
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
        help=(
            "namespace the token may act in (repeat for several; '*' for every one); "
            "without it the token names none and, unless the server sets "
            "TEMPORAL_GATEWAY_JWT_ABSENT_NAMESPACE_MEANS_ALL, acts in no namespace"
        ),
    )
    create.add_argument("--ttl", default="1h", help="lifetime, e.g. 30m, 12h, 7d")
    keys = commands.add_parser("api-key", help="API keys, on the server's database")
    key_commands = keys.add_subparsers(
        dest="key_command", required=True, help="what to do with API keys"
    )
    # Each api-key command names the server's database; a SQLite file that is not there is
    # refused, not created empty (run from another folder, the default path is elsewhere).
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--database-url",
        help="the server's database (default TEMPORAL_GATEWAY_DATABASE_URL, else "
        "sqlite:///./data/temporal-gateway.db); a SQLite file must exist",
    )
    key_create = key_commands.add_parser(
        "create", parents=[database], help="issue a key (printed once)"
    )
    key_create.add_argument("--name", required=True, help="a name to recognise the key by")
    key_create.add_argument(
        "--permissions", required=True, help="comma-separated, e.g. temporal:worker:*"
    )
    key_create.add_argument(
        "--namespace", action="append", default=[], help="repeat for several; absent: every one"
    )
    key_create.add_argument(
        "--task-queue", action="append", default=[], help="repeat for several; absent: every one"
    )
    key_create.add_argument("--ttl", help="lifetime, e.g. 30d; absent: no expiry")
    key_commands.add_parser(
        "list",
        parents=[database],
        help="list keys with their scopes, expiry and state (never the keys themselves)",
    )
    key_revoke = key_commands.add_parser("revoke", parents=[database], help="revoke a key by id")
    key_revoke.add_argument("key_id", help="the key's id, as `api-key list` shows it")
    commands.add_parser("openapi", help="print the OpenAPI document (YAML)")
    return parser


async def _api_key_command(args: argparse.Namespace, settings: Settings) -> str:
    from app.auth import ANONYMOUS
    from app.db.database import Database
    from app.db.migrate import migrate
    from app.services import api_keys

    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        await migrate(db)
        now = datetime.now(UTC)
        async with db.write() as uow:
            if args.key_command == "create":
                permissions = [p.strip() for p in args.permissions.split(",") if p.strip()]
                ttl = _seconds(args.ttl) if args.ttl else None
                # The operator, at the database: no caller's scope bounds the key.
                row, key = await api_keys.issue(
                    uow.session,
                    ANONYMOUS,
                    args.name,
                    permissions,
                    args.namespace or None,
                    args.task_queue or None,
                    ttl,
                    now,
                )
                return f"{key}\n(id {row.id}; this is the only time the key is shown)\n"
            if args.key_command == "revoke":
                await api_keys.revoke(uow.session, ANONYMOUS, args.key_id, now)
                return f"revoked {args.key_id}\n"
            rows = await api_keys.list_keys(uow.session, ANONYMOUS)
            return _key_table(rows, now)
    finally:
        await db.close()


def _key_table(rows: list[ApiKeyRow], now: datetime) -> str:
    """The keys as aligned columns; "*" is every namespace or task queue."""
    from app.services import api_keys

    table = [("ID", "NAME", "PERMISSIONS", "NAMESPACES", "TASK QUEUES", "EXPIRES", "STATE")]
    for row in rows:
        described = api_keys.describe(row)
        expires = row.expires_time
        state = (
            "revoked"
            if row.revoked_time is not None
            else "expired"
            if expires is not None and expires <= now
            else "active"
        )
        table.append(
            (
                row.id,
                row.name,
                ",".join(row.permissions),
                ",".join(described["namespaces"] or ["*"]),
                ",".join(described["task_queues"] or ["*"]),
                expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if expires else "never",
                state,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in table
    )


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


def _ports(settings: Settings) -> str:
    rest = f"REST port {settings.port}"
    return f"{rest} and gRPC port {settings.grpc_port}" if settings.grpc_port else rest


def check_bind(settings: Settings) -> None:
    """Without authentication the server serves only on loopback, unless told otherwise:
    the REST and the gRPC ports alike, which both bind ``settings.host``."""
    if settings.auth_enabled:
        return
    if not _is_loopback(settings.host) and not settings.allow_unauthenticated_network:
        raise SystemExit(
            f"refusing to serve on {settings.host} ({_ports(settings)}) without "
            "authentication: set "
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
            "grpc_port": args.grpc_port,
            "database_url": args.database_url,
            "allow_unauthenticated_network": args.allow_unauthenticated_network or None,
        }.items()
        if v is not None
    }
    settings = preflight.load_settings(overrides)
    logs.configure(settings)  # text or JSON lines, uvicorn's included
    preflight.warn_unknown_variables()
    check_bind(settings)
    try:
        auth.check_secret(settings)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    # Each usual mistake is one line here, before any start-up work (the ports first: they
    # leave nothing behind, where opening a SQLite database creates its file).
    preflight.check_port(settings.host, settings.port)
    if settings.grpc_port:
        preflight.check_port(settings.host, settings.grpc_port, option="--grpc-port")
    from app.db.database import claim_sqlite_file

    try:  # one clear line, before anything opens the file (under a hard link's name,
        # SQLite would make a -wal and -shm of its own beside it)
        claimed = claim_sqlite_file(settings.database_url)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    except OSError:  # a folder that cannot be made, say: check_database says why
        claimed = None
    preflight.check_database(settings)
    from app.main import create_app

    app = create_app(settings)
    try:  # taken above, but for a file that could not be opened there
        app.state.ctx.db.claim_sole_server(claimed)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    # No "listening" line here: uvicorn logs one ("Uvicorn running on ...") once the app
    # has started and the port is bound, and the app logs its database as it starts.
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
    if args.command == "serve":
        _serve(args)
        return
    overrides = {"database_url": args.database_url} if args.command == "api-key" else {}
    settings = preflight.load_settings({k: v for k, v in overrides.items() if v is not None})
    preflight.warn_unknown_variables()
    if args.command == "openapi":
        sys.stdout.write(openapi_yaml())
    elif args.command == "api-key":
        import asyncio

        from app.errors import ApiError

        preflight.check_database(settings, must_exist=True)
        try:
            sys.stdout.write(asyncio.run(_api_key_command(args, settings)))
        except ApiError as exc:
            raise SystemExit(exc.message) from None
    elif args.command == "token":
        try:
            token = auth.mint(
                settings,
                args.sub,
                [p.strip() for p in args.permissions.split(",") if p.strip()],
                args.namespace,
                _seconds(args.ttl),
                int(time.time()),
            )
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        sys.stdout.write(token + "\n")
