"""Start-up mistakes are one clear line on stderr and a non-zero exit, never a traceback:
each case runs `python -m app serve` as a process, as an operator would."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk

from app.main import create_app
from app.setting_types import unknown_variables
from app.settings import Settings
from tests.conftest import PG_ADMIN_DSN

ROOT = Path(__file__).resolve().parents[1]
SECRET = "startup-test-secret-long-enough-for-hs256"
PUBLIC_KEY = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def gateway(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` in an empty folder, with authentication on (so that no warning
    about it shares stderr) and only the TEMPORAL_GATEWAY_* variables given; `serve` on a
    free port and with gRPC off unless told otherwise (a case that did start must take
    neither 7243 nor 7233)."""
    given = {*args, *(env or {})}
    if args[0] == "serve" and not given & {"--port", "TEMPORAL_GATEWAY_PORT"}:
        args = (*args, "--port", str(free_port()))
    if args[0] == "serve" and not given & {"--grpc-port", "TEMPORAL_GATEWAY_GRPC_PORT"}:
        args = (*args, "--grpc-port", "0")
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("TEMPORAL_")}
    environ.update({"PYTHONPATH": str(ROOT), "TEMPORAL_GATEWAY_JWT_SECRET": SECRET, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://x", "unsupported database 'mysql'"),
        ("sqlite:/nope", "'sqlite:/nope' is not a database URL"),
        ("garbage", "'garbage' is not a database URL"),
        ("postgresql://u:hunter2@h:port/db", "the value is not a database URL"),
    ],
)
def test_a_bad_database_url_is_one_line(tmp_path: Path, url: str, says: str) -> None:
    result = gateway(tmp_path, "serve", "--database-url", url)
    line = assert_one_line(result, "invalid --database-url", says, "sqlite:///")
    assert "hunter2" not in line


def test_a_database_url_from_the_environment_is_named_by_its_variable(tmp_path: Path) -> None:
    result = gateway(tmp_path, "serve", env={"TEMPORAL_GATEWAY_DATABASE_URL": "mysql://x"})
    assert_one_line(result, "invalid setting TEMPORAL_GATEWAY_DATABASE_URL", "mysql")


def test_postgresql_unreachable_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    result = gateway(tmp_path, "serve", "--database-url", f"postgresql://u@127.0.0.1:{port}/db")
    assert_one_line(result, f"cannot reach PostgreSQL at 127.0.0.1:{port}", "refused")


async def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    try:
        await (await asyncpg.connect(PG_ADMIN_DSN, timeout=5)).close()
    except (OSError, asyncpg.PostgresError):
        pytest.skip("no local PostgreSQL")
    url = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/tg_no_such_database"
    result = gateway(tmp_path, "serve", "--database-url", url)
    assert_one_line(result, 'database "tg_no_such_database" does not exist', "createdb")


def test_a_port_in_use_is_one_line_before_any_start_up_work(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gateway(
            tmp_path, "serve", "--port", str(port), "--database-url", "sqlite:///./gw.db"
        )
    assert_one_line(result, f"cannot listen on 127.0.0.1:{port}: address already in use", "--port")
    assert "listening" not in result.stderr.lower()
    assert not (tmp_path / "gw.db").exists()  # nothing started: not even the database


def test_a_grpc_port_in_use_is_one_line_naming_its_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gateway(
            tmp_path, "serve", "--grpc-port", str(port), "--database-url", "sqlite:///./gw.db"
        )
    assert_one_line(
        result, f"cannot listen on 127.0.0.1:{port}: address already in use", "(--grpc-port)"
    )
    assert not (tmp_path / "gw.db").exists()


@pytest.mark.parametrize("where", ["options", "environment"])
def test_one_port_for_rest_and_grpc_is_one_line(tmp_path: Path, where: str) -> None:
    port = str(free_port())
    if where == "options":
        result = gateway(tmp_path, "serve", "--port", port, "--grpc-port", port)
    else:
        env = {"TEMPORAL_GATEWAY_PORT": port, "TEMPORAL_GATEWAY_GRPC_PORT": port}
        result = gateway(tmp_path, "serve", env=env)
    assert_one_line(
        result,
        "invalid settings: the REST port (--port, TEMPORAL_GATEWAY_PORT) and the gRPC port "
        f"(--grpc-port, TEMPORAL_GATEWAY_GRPC_PORT) are both {port}",
        "--grpc-port 0",
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("TEMPORAL_GATEWAY_JWT_ALGORITHMS", "HS256,HS257", "unsupported algorithm 'HS257'"),
        ("TEMPORAL_GATEWAY_JWT_ALGORITHMS", "none", "'none' (unsigned tokens) is never"),
        ("TEMPORAL_GATEWAY_JWT_ALGORITHMS", '["HS256"', "is not a JSON list"),
        ("TEMPORAL_GATEWAY_PORT", "http", "valid integer"),
        ("TEMPORAL_GATEWAY_GRPC_PORT", "grpc", "valid integer"),
        ("TEMPORAL_GATEWAY_GRPC_PORT", "70000", "less than or equal to 65535"),
        ("TEMPORAL_GATEWAY_LOG_LEVEL", "loud", "'debug', 'info', 'warning' or 'error'"),
        ("TEMPORAL_GATEWAY_RATE_LIMIT_CLIENT", "lots", "lots"),
        ("TEMPORAL_GATEWAY_JWT_PUBLIC_KEY_FILE", "missing.pem", "no such file: missing.pem"),
        ("TEMPORAL_GATEWAY_JWT_PUBLIC_KEY_FILE", "not-a-key.txt", "holds no PEM RSA or EC"),
        ("TEMPORAL_GATEWAY_JWT_JWKS_FILE", "missing.json", "no such file: missing.json"),
        ("TEMPORAL_GATEWAY_JWT_JWKS_FILE", "not-a-key.txt", "is not JSON"),
        ("TEMPORAL_GATEWAY_JWT_JWKS_FILE", "no-keys.json", "is not a JWKS"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    (tmp_path / "not-a-key.txt").write_text("hello\n")
    (tmp_path / "no-keys.json").write_text('{"kid": "x"}')
    result = gateway(tmp_path, "serve", env={variable: value})
    assert_one_line(result, f"invalid setting {variable}: ", says)


async def test_a_setting_the_database_fixed_is_one_line(settings: Settings, tmp_path: Path) -> None:
    """A database keeps the shard count it was created with (16, the default, here)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    result = gateway(
        tmp_path,
        *("serve", "--database-url", settings.database_url),
        env={"TEMPORAL_GATEWAY_SHARD_COUNT": "8"},
    )
    assert_one_line(
        result,
        "invalid setting TEMPORAL_GATEWAY_SHARD_COUNT=8: this database was created with "
        "shard_count=16, which cannot change (set 16)",
    )


@pytest.mark.parametrize(
    ("value", "algorithms"),
    [
        ("HS256", ["HS256"]),
        ("HS256,RS256", ["HS256", "RS256"]),
        (" hs256 , es256 ", ["HS256", "ES256"]),
        ('["HS256", "RS256"]', ["HS256", "RS256"]),
    ],
)
def test_algorithms_are_a_comma_list_a_single_value_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, algorithms: list[str]
) -> None:
    monkeypatch.setenv("TEMPORAL_GATEWAY_JWT_ALGORITHMS", value)
    assert Settings().jwt_algorithms == algorithms


def test_readable_key_files_are_accepted(tmp_path: Path) -> None:
    pem = tmp_path / "public.pem"
    pem.write_text(PUBLIC_KEY)
    key = {**jwk.construct(PUBLIC_KEY, "ES256").to_dict(), "kid": "k1"}
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key]}))
    settings = Settings(jwt_public_key_file=str(pem), jwt_jwks_file=str(jwks))
    assert settings.jwt_public_key_file == str(pem)
    assert settings.jwt_jwks_file == str(jwks)


def test_an_unknown_variable_is_warned_about_not_fatal(tmp_path: Path) -> None:
    result = gateway(
        tmp_path,
        *("token", "create", "--sub", "a", "--permissions", "temporal:*"),
        env={"TEMPORAL_GATEWAY_JWT_SECRETS": "x", "TEMPORAL_GATEWAY_FROBNICATE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2  # the token was minted
    assert (
        "unknown setting TEMPORAL_GATEWAY_JWT_SECRETS ignored "
        "(did you mean TEMPORAL_GATEWAY_JWT_SECRET?)"
    ) in result.stderr
    assert "unknown setting TEMPORAL_GATEWAY_FROBNICATE ignored\n" in result.stderr


def test_unknown_variables_are_found_by_name_whatever_their_case() -> None:
    environ = {
        "TEMPORAL_GATEWAY_PORT": "1",
        "temporal_gateway_log_level": "info",
        "TEMPORAL_GATEWAY_DATABSE_URL": "x",
        "PATH": "/bin",
    }
    assert unknown_variables(environ, Settings.model_fields) == [
        "unknown setting TEMPORAL_GATEWAY_DATABSE_URL ignored "
        "(did you mean TEMPORAL_GATEWAY_DATABASE_URL?)"
    ]


async def test_the_app_starts_and_stops_with_no_error_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The install floors' check: aiosqlite before 0.22 logged an error closing each
    connection at shutdown, which no request would have noticed."""
    app = create_app(settings)
    with caplog.at_level(logging.WARNING):
        async with app.router.lifespan_context(app):
            pass
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
