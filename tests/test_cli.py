"""The command line: safe defaults when serving, development tokens, API keys on the
server's database, and help for everything."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jose import jwt

from app import __version__, cli, logs, preflight
from app.db import database
from app.db.database import Database
from app.db.migrate import migrate
from app.settings import Settings

SECRET = "cli-test-secret-long-enough-for-hs256-000"


def test_refuses_network_bind_without_auth() -> None:
    with pytest.raises(SystemExit, match="without authentication"):
        cli.check_bind(Settings(host="0.0.0.0"))


@pytest.mark.parametrize(
    ("grpc_port", "ports"),
    [(7233, "REST port 7243 and gRPC port 7233"), (0, "REST port 7243")],
)
def test_the_loopback_rule_names_every_port_it_covers(grpc_port: int, ports: str) -> None:
    """REST and gRPC bind the same host: the refusal covers both."""
    with pytest.raises(SystemExit) as refused:
        cli.check_bind(Settings(host="0.0.0.0", grpc_port=grpc_port))
    assert str(refused.value.code).startswith(f"refusing to serve on 0.0.0.0 ({ports}) without")


def test_serve_names_both_ports_and_their_defaults() -> None:
    serve = dict(_parsers(cli._parser()))["temporal-gateway serve"]
    helps = {action.dest: action.help for action in serve._actions}
    assert helps["port"] == "REST (HTTP/JSON) port (default 7243)"
    assert helps["grpc_port"] == "gRPC port (default 7233; 0 turns gRPC off)"


def test_serve_checks_both_ports_before_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """--grpc-port is a setting like --port, and its port is checked as REST's is (none
    when gRPC is off), before anything opens the database."""
    checked: list[tuple[str, int, str]] = []

    def check_port(host: str, port: int, option: str = "--port") -> None:
        checked.append((host, port, option))

    def claim(url: str) -> None:
        raise RuntimeError("stopped before the database")

    monkeypatch.setattr(preflight, "check_port", check_port)
    monkeypatch.setattr(logs, "configure", lambda settings: None)
    monkeypatch.setattr(database, "claim_sqlite_file", claim)
    monkeypatch.setenv("TEMPORAL_GATEWAY_JWT_SECRET", SECRET)
    for grpc_port, expected in [
        ("17233", [("127.0.0.1", 17243, "--port"), ("127.0.0.1", 17233, "--grpc-port")]),
        ("0", [("127.0.0.1", 17243, "--port")]),
    ]:
        checked.clear()
        with pytest.raises(SystemExit, match="stopped before the database"):
            cli.main(["serve", "--port", "17243", "--grpc-port", grpc_port])
        assert checked == expected


@pytest.mark.parametrize(
    "settings",
    [
        Settings(host="127.0.0.1"),
        Settings(host="::1"),
        Settings(host="localhost"),
        Settings(host="0.0.0.0", allow_unauthenticated_network=True),
        Settings(host="0.0.0.0", jwt_secret=SECRET),
    ],
)
def test_allowed_binds(settings: Settings) -> None:
    cli.check_bind(settings)


def test_token_create(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TEMPORAL_GATEWAY_JWT_SECRET", SECRET)
    cli.main(
        [
            "token",
            "create",
            "--sub",
            "alice",
            "--permissions",
            "temporal:workflow:*,temporal:namespace:read",
            "--namespace",
            "default",
            "--ttl",
            "2h",
        ]
    )
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["permissions"] == ["temporal:workflow:*", "temporal:namespace:read"]
    assert claims["namespace"] == "default"
    assert claims["exp"] - claims["iat"] == 7200


@pytest.mark.parametrize("secret", ["short", "secret", None])
def test_token_create_needs_a_real_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    if secret is None:
        monkeypatch.delenv("TEMPORAL_GATEWAY_JWT_SECRET", raising=False)
    else:
        monkeypatch.setenv("TEMPORAL_GATEWAY_JWT_SECRET", secret)
    with pytest.raises(SystemExit):
        cli.main(["token", "create", "--sub", "a", "--permissions", "temporal:*"])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"temporal-gateway {__version__}"


def _parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action.choices.values():
                yield from _parsers(choice)


def test_every_option_and_command_has_help() -> None:
    missing = []
    for prog, parser in _parsers(cli._parser()):
        for action in parser._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{prog}: {action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{prog} {c.dest}" for c in action._choices_actions if not c.help]
    assert missing == []
    # The walk reached the commands under commands.
    assert {"temporal-gateway token create", "temporal-gateway api-key list"} <= {
        prog for prog, _ in _parsers(cli._parser())
    }


def test_api_key_commands_refuse_a_sqlite_file_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # another folder: the default ./data/… is not the server's
    for command in (["list"], ["revoke", "abc"], ["create", "--name", "n", "--permissions", "p"]):
        with pytest.raises(SystemExit, match=r"no SQLite database at .*elsewhere\.db"):
            cli.main(["api-key", *command, "--database-url", "sqlite:///elsewhere.db"])
        with pytest.raises(SystemExit, match=r"no SQLite database at .*data/temporal-gateway\.db"):
            cli.main(["api-key", *command])
    assert list(tmp_path.iterdir()) == []  # nothing was created


async def test_api_key_list_shows_scopes_and_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/gateway.db"
    db = Database(url)
    await migrate(db)
    await db.close()

    def run(*args: str) -> str:
        # The command runs its own event loop, as from a shell.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(cli.main, ["api-key", *args, "--database-url", url]).result()
        return capsys.readouterr().out

    scoped = run(
        *("create", "--name", "payments", "--permissions", "temporal:worker:*"),
        *("--namespace", "billing", "--namespace", "orders", "--task-queue", "pay"),
        *("--ttl", "30d"),
    )
    wide = run("create", "--name", "admin", "--permissions", "temporal:*")
    revoked_id = wide.split("(id ")[1].split(";")[0]
    run("revoke", revoked_id)
    lines = run("list").splitlines()
    assert lines[0].split() == [
        *("ID", "NAME", "PERMISSIONS", "NAMESPACES", "TASK", "QUEUES", "EXPIRES", "STATE")
    ]
    first, second = (line.split() for line in lines[1:])
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert first[1:5] == ["payments", "temporal:worker:*", "billing,orders", "pay"]
    assert first[5].startswith(expires) and first[6] == "active"
    assert first[0] in scoped
    assert second == [revoked_id, "admin", "temporal:*", "*", "*", "never", "revoked"]
