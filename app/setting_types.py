"""The checked types of the settings whose values need more than pydantic's own types: a
list written as "HS256,RS256", a database URL, key files read at start. Each refuses a bad
value with a message that says what is wrong, so that start-up can print one line naming
the variable (app.cli) instead of a server that starts and then fails every request."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_settings import NoDecode
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "TEMPORAL_GATEWAY_"
# What python-jose verifies JWS signatures with; "none" is never accepted.
SIGNING_ALGORITHMS = tuple(
    f"{family}{bits}" for family in ("HS", "RS", "ES") for bits in (256, 384, 512)
)
DATABASE_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+asyncpg": "postgresql",
}
DATABASE_URL_FORMS = "sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"


def _comma_list(value: Any) -> Any:
    """An environment value "HS256, RS256" or "HS256" as a list; a JSON list stays one."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a JSON list; write e.g. HS256,RS256") from None
    return [part.strip() for part in value.split(",") if part.strip()]


def _algorithms(values: list[str]) -> list[str]:
    if any(v.lower() == "none" for v in values):
        raise ValueError("'none' (unsigned tokens) is never accepted")
    if not values:
        raise ValueError(f"name at least one algorithm of {', '.join(SIGNING_ALGORITHMS)}")
    unknown = [v for v in values if v.upper() not in SIGNING_ALGORITHMS]
    if unknown:
        raise ValueError(
            f"unsupported algorithm {unknown[0]!r}; accepted: {', '.join(SIGNING_ALGORITHMS)}"
        )
    return [v.upper() for v in values]


Algorithms = Annotated[
    list[str], NoDecode, BeforeValidator(_comma_list), AfterValidator(_algorithms)
]


def database_kind(url: str) -> str:
    """The URL's kind, "sqlite" or "postgresql"; a ValueError saying what is wrong for
    anything else."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Echoed only when it cannot hold a password.
        shown = f"{url!r}" if "@" not in url else "the value"
        raise ValueError(f"{shown} is not a database URL; use {DATABASE_URL_FORMS}") from None
    kind = DATABASE_SCHEMES.get(parsed.drivername)
    if kind is None:
        raise ValueError(f"unsupported database {parsed.drivername!r}; use {DATABASE_URL_FORMS}")
    if kind == "postgresql" and not parsed.database:
        raise ValueError(f"the URL names no database; use {DATABASE_URL_FORMS}")
    return kind


def _database_url(url: str) -> str:
    database_kind(url)
    return url


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _public_key_file(path: str | None) -> str | None:
    """A PEM public key (or certificate) python-jose can verify RS* or ES* tokens with."""
    if path is None:
        return None
    from jose import jwk
    from jose.exceptions import JOSEError

    text = _read(path)
    for algorithm in ("RS256", "ES256"):
        try:
            jwk.construct(text, algorithm)
            return path
        except (JOSEError, ValueError, TypeError):
            continue
    raise ValueError(f"{path} holds no PEM RSA or EC public key")


def _jwks_file(path: str | None) -> str | None:
    """A JWKS document: {"keys": [...]}, each key with a "kid" and usable by python-jose."""
    if path is None:
        return None
    from jose import jwk
    from jose.exceptions import JOSEError

    try:
        document = json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError(f'{path} is not a JWKS: it needs {{"keys": [...]}} with one key or more')
    for index, key in enumerate(keys):
        if not isinstance(key, dict) or not key.get("kid"):
            raise ValueError(f"{path}: key {index} has no 'kid'")
        default = {"RSA": "RS256", "EC": "ES256", "oct": "HS256"}.get(str(key.get("kty")))
        try:
            jwk.construct(key, key.get("alg") or default)
        except (JOSEError, ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path}: key {key['kid']!r} is not usable: {exc}") from None
    return path


PublicKeyFile = Annotated[str | None, AfterValidator(_public_key_file)]
JwksFile = Annotated[str | None, AfterValidator(_jwks_file)]


def unknown_variables(environ: Mapping[str, str], fields: Iterable[str]) -> list[str]:
    """A warning for each TEMPORAL_GATEWAY_* variable that names no setting (a typo would
    otherwise be ignored in silence), with the nearest setting's name when one is close."""
    known = {ENV_PREFIX + name.upper() for name in fields}
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"unknown setting {name} ignored{hint}")
    return warnings
