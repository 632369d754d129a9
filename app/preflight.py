"""Start-up checks run by the command line before anything starts: each usual mistake (a
bad setting, a database that cannot be opened or reached, a port already taken) ends the
process with one line that says what is wrong, instead of a traceback or a server that
starts and fails later."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import socket
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url

from app.setting_types import ENV_PREFIX, database_kind, unknown_variables
from app.settings import Settings

log = logging.getLogger("app")
CONNECT_TIMEOUT_SECONDS = 10.0
# What a database fixes when it is created (app.services.cluster.fix_once).
FIXED_METADATA = (
    "SELECT key, value FROM cluster_metadata WHERE key IN ('shard_count', 'task_queue_partitions')"
)
# Settings whose values are never echoed in an error (a secret, or a URL with a password).
CONFIDENTIAL = {"jwt_secret", "database_url", "rate_limit_storage", "jwt_jwks_url"}


def warn_unknown_variables() -> None:
    """A warning per TEMPORAL_GATEWAY_* variable that names no setting (not an exit)."""
    for warning in unknown_variables(os.environ, Settings.model_fields):
        log.warning(warning)


def _describe(exc: ValidationError | SettingsError, options: dict[str, str]) -> str:
    """One line naming each bad setting (by its option when it came from one)."""
    if isinstance(exc, SettingsError):
        match = re.search(r'field "(\w+)"', str(exc))
        name = ENV_PREFIX + match.group(1).upper() if match else "a setting"
        return f"invalid setting {name}: its value cannot be parsed ({exc})"
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        # A check across settings (a model validator) has no field to name.
        name = options.get(field, f"setting {ENV_PREFIX}{field.upper()}" if field else "settings")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, Exception):  # ours: the message says what is wrong
            message = str(cause)
        else:  # pydantic's: with the value, unless it may hold a secret
            message = error["msg"]
            if field not in CONFIDENTIAL and len(error["loc"]) == 1:
                message += f" (got {error['input']!r})"
        where = "".join(f"[{part}]" for part in error["loc"][1:])
        problems.append(f"invalid {name}{where}: {message}")
    return "; ".join(problems).replace("\n", " ")


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The settings, or an exit with one line. ``overrides`` come from command-line options
    (``database_url`` from ``--database-url``), which the message names instead."""
    overrides = overrides or {}
    try:
        return Settings(**overrides)
    except (ValidationError, SettingsError) as exc:
        warn_unknown_variables()  # a typo may be the cause; logging's last resort shows it
        options = {field: "--" + field.replace("_", "-") for field in overrides}
        raise SystemExit(_describe(exc, options)) from None


def check_port(host: str, port: int, option: str = "--port") -> None:
    """Bind one of the server's addresses once (REST's, then gRPC's with ``option``
    "--grpc-port"), so that a port in use is one line before any start-up work: the
    servers bind only once the app's start-up is under way (migrations and all), and then
    say so among their other lines. The socket is closed again at once; another process
    taking the port in that moment still meets the server's own refusal."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: a port whose last connections are in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            hint = exc.strerror or str(exc)
            if exc.errno == errno.EADDRINUSE:  # the words bench/ and tests/e2e/ look for
                hint = f"address already in use: another process listens there ({option})"
            raise SystemExit(f"cannot listen on {host}:{port}: {hint}") from None


def check_database(settings: Settings, *, must_exist: bool = False) -> None:
    """Open the database once, or exit with one line; and refuse a setting the database
    fixed when it was created (a shard count, say) as a bad setting, not a traceback from
    start-up. ``must_exist``: refuse a SQLite file that is not there rather than create
    an empty one (commands that read keys)."""
    kind = database_kind(settings.database_url)
    if kind == "sqlite":
        fixed = _check_sqlite(settings.database_url, must_exist=must_exist)
    else:
        fixed = asyncio.run(_check_postgres(settings.database_url))
    wanted = {
        "shard_count": settings.shard_count,
        "task_queue_partitions": settings.partitions_for(kind == "sqlite"),
    }
    for key, value in wanted.items():
        if key in fixed and fixed[key] != str(value):
            raise SystemExit(
                f"invalid setting {ENV_PREFIX}{key.upper()}={value}: this database was "
                f"created with {key}={fixed[key]}, which cannot change (set {fixed[key]})"
            )


def _check_sqlite(url: str, *, must_exist: bool) -> dict[str, str]:
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        return {}
    path = Path(database)
    if must_exist and not path.is_file():
        raise SystemExit(
            f"no SQLite database at {path.absolute()}: pass --database-url (or set "
            "TEMPORAL_GATEWAY_DATABASE_URL) to the server's database"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path)
        try:
            tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
            if ("cluster_metadata",) not in tables:
                return {}  # a new database
            return dict(connection.execute(FIXED_METADATA).fetchall())
        finally:
            connection.close()
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SystemExit(f"cannot open the SQLite database {path.absolute()}: {reason}") from None


async def _check_postgres(url: str) -> dict[str, str]:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from app.db.database import async_url, describe_url

    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                exists = "SELECT to_regclass('cluster_metadata') IS NOT NULL"
                if not (await connection.execute(text(exists))).scalar():
                    return {}  # a new database
                rows = await connection.execute(text(FIXED_METADATA))
                return {str(key): str(value) for key, value in rows}
    except TimeoutError:
        raise SystemExit(
            f"PostgreSQL at {where} did not answer within {CONNECT_TIMEOUT_SECONDS:g} s"
        ) from None
    except OSError as exc:
        # asyncio's own message repeats the address; the errno's text says what happened.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise SystemExit(f"cannot reach PostgreSQL at {where}: {reason}") from None
    except Exception as exc:  # the server's refusal (no such database, a bad password...)
        # The driver's own error says it best: asyncpg's, under SQLAlchemy's adapter when
        # it wraps one (some versions pass it through as it is).
        cause: BaseException = exc
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            cause = exc.orig.__cause__ or exc.orig
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        hint = ""
        if type(cause).__name__ == "InvalidCatalogNameError":
            hint = f" (create it first: createdb -h {parsed.host or 'localhost'} {parsed.database})"
        raise SystemExit(
            f"cannot connect to PostgreSQL {describe_url(url)}: {reason}{hint}"
        ) from None
    finally:
        await engine.dispose()
