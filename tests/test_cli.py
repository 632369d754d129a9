"""The command line: safe defaults when serving, and development tokens."""

from __future__ import annotations

import pytest
from jose import jwt

from app import cli
from app.settings import Settings

SECRET = "cli-test-secret-long-enough-for-hs256-000"


def test_refuses_network_bind_without_auth() -> None:
    with pytest.raises(SystemExit, match="without authentication"):
        cli.check_bind(Settings(host="0.0.0.0"))


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
