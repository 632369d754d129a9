"""Who is calling: Bearer JWTs turned into a Principal carrying the spec's permissions,
namespaces and task queues. python-jose checks the signature, with an exact algorithm
allow-list; the claims (exp/nbf/iat with a small leeway, against the injected clock; iss,
aud and the scope claims) are checked here, each by type, so a malformed token is a 401
naming the claim, never a 500. With authentication off, every caller is an anonymous
principal with every permission.

Scopes: None means every namespace (task queue); an empty set means none. Only `"*"` or,
with `jwt_absent_namespace_means_all`, an absent namespace claim gives every namespace."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jose import JWTError, jws, jwt

from app.clock import Clock
from app.errors import ApiError, ErrorCode
from app.jwks import KeySet
from app.settings import Settings

ALL = "temporal:*"
EVERY = "*"
HMAC = {"HS256", "HS384", "HS512"}
MIN_SECRET_LENGTH = 32
WEAK_SECRETS = {"secret", "changeme", "change-me", "password", "temporal", "default"}


def scope(names: Iterable[str] | None) -> frozenset[str] | None:
    """A scope from a list of names: None (every) when absent or when it holds `"*"`."""
    if names is None:
        return None
    names = frozenset(names)
    return None if EVERY in names else names


@dataclass(frozen=True)
class Principal:
    subject: str
    permissions: frozenset[str]
    namespaces: frozenset[str] | None = None  # None: every namespace
    task_queues: frozenset[str] | None = None  # None: every task queue
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def may(self, needed: str) -> bool:
        """The spec's hierarchy: `temporal:*` > `temporal:workflow:*` > the leaves."""
        for granted in self.permissions:
            if granted == needed:
                return True
            if granted.endswith(":*") and needed.startswith(granted[:-1]):
                return True
        return False

    def may_use_namespace(self, namespace: str) -> bool:
        return self.namespaces is None or namespace in self.namespaces

    def may_use_task_queue(self, queue: str) -> bool:
        return self.task_queues is None or queue in self.task_queues

    def excess(self, other: Principal) -> str | None:
        """The first part of `other`'s scope this principal does not hold (a permission, a
        namespace or a task queue), or None when `other` is within this principal on every
        axis. A credential may only hand out what it holds: see API keys."""
        for permission in sorted(other.permissions):
            if not self.may(permission):
                return f"permission {permission!r}"
        for axis, mine, theirs, allowed in (
            ("namespace", self.namespaces, other.namespaces, self.may_use_namespace),
            ("task queue", self.task_queues, other.task_queues, self.may_use_task_queue),
        ):
            if theirs is None:
                if mine is not None:
                    return f"every {axis}"
                continue
            for name in sorted(theirs):
                if not allowed(name):
                    return f"{axis} {name!r}"
        return None


ANONYMOUS = Principal("anonymous", frozenset({ALL}))


def unauthenticated(message: str) -> ApiError:
    return ApiError(
        ErrorCode.UNAUTHENTICATED,
        message,
        [{"type": "Unauthenticated"}],
        headers={"WWW-Authenticate": 'Bearer realm="temporal-gateway"'},
    )


def check_secret(settings: Settings) -> None:
    """Refuse to run with a default or too-short signing secret."""
    if settings.jwt_secret is None:
        return
    secret = settings.jwt_secret.get_secret_value()
    if len(secret) < MIN_SECRET_LENGTH or secret.lower() in WEAK_SECRETS:
        raise ValueError(
            f"TEMPORAL_GATEWAY_JWT_SECRET must be at least {MIN_SECRET_LENGTH} "
            "characters and not a well-known default"
        )


class Authenticator:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        check_secret(settings)
        self.settings = settings
        self._clock = clock  # exp/nbf/iat are checked against it, never the wall
        self._key_set = KeySet(settings, clock)
        # Exact names: a JWS `alg` is case-sensitive, and jose has no key for "hs256".
        self._algorithms = {a.upper() for a in settings.jwt_algorithms} - {"NONE"}

    @cached_property
    def _public_key(self) -> str | None:
        path = self.settings.jwt_public_key_file
        return Path(path).read_text() if path else None

    async def _key_for(self, algorithm: str, kid: str | None) -> str | dict[str, Any]:
        if algorithm in HMAC:
            if self.settings.jwt_secret is None:
                raise unauthenticated("HMAC-signed tokens are not accepted")
            return self.settings.jwt_secret.get_secret_value()
        if self._key_set.configured:
            key = await self._key_set.key(kid or "")
            if key is None:
                raise unauthenticated("unknown signing key")
            return key
        if self._public_key is None:
            raise unauthenticated("public-key-signed tokens are not accepted")
        return self._public_key

    async def authenticate(self, authorization: str | None) -> Principal:
        if not self.settings.auth_enabled:
            return ANONYMOUS
        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthenticated("missing Bearer credentials")
        claims = await self._verified_claims(authorization[7:].strip())
        return principal_from_claims(claims, self.settings, self._clock.now().timestamp())

    async def _verified_claims(self, token: str) -> dict[str, Any]:
        """The payload of a token whose signature verifies. No message echoes the token."""
        try:
            header = jwt.get_unverified_header(token)
        except JWTError:
            raise unauthenticated("malformed token") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise unauthenticated("token algorithm is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise unauthenticated("token header 'kid' must be a string")
        key = await self._key_for(algorithm, kid)
        try:
            payload = jws.verify(token, key, algorithms=[algorithm])
        except Exception:
            # Not only JWSError: on odd headers and keys python-jose also raises JWKError,
            # KeyError, TypeError, ...; none of them may become a 500 before any credential.
            raise unauthenticated("invalid token signature") from None
        try:
            claims = json.loads(payload)
        except (ValueError, RecursionError):  # also JSON nested past the parser's depth
            claims = None
        if not isinstance(claims, dict):
            raise unauthenticated("token payload must be a JSON object")
        return claims


def principal_from_claims(claims: dict[str, Any], settings: Settings, now: float) -> Principal:
    """Check the registered claims and the scope claims (each by type; a bad one is a 401
    naming it) and build the principal."""
    leeway = settings.jwt_leeway_seconds
    expires = _time_claim(claims, "exp")
    if expires is None:
        raise unauthenticated("token has no 'exp' claim")
    if now >= expires + leeway:
        raise unauthenticated("token has expired ('exp')")
    not_before = _time_claim(claims, "nbf")
    if not_before is not None and now < not_before - leeway:
        raise unauthenticated("token is not valid yet ('nbf')")
    issued = _time_claim(claims, "iat")
    if issued is not None and now < issued - leeway:
        raise unauthenticated("token was issued in the future ('iat')")
    if settings.jwt_issuer is not None and claims.get("iss") != settings.jwt_issuer:
        raise unauthenticated("token 'iss' claim is missing or not the accepted issuer")
    if settings.jwt_audience is not None:
        audience = _names(claims, "aud")
        if audience is None:
            raise unauthenticated("token has no 'aud' claim")
        if settings.jwt_audience not in audience:
            raise unauthenticated("token 'aud' claim does not name this gateway")
    subject = claims.get("sub", "")
    if not isinstance(subject, str):
        raise unauthenticated("token claim 'sub' must be a string")
    permissions_claim = settings.jwt_permissions_claim
    permissions = claims.get(permissions_claim, [])
    if isinstance(permissions, str):
        permissions = permissions.split()  # the OAuth `scope` style
    elif not _is_list_of_strings(permissions):
        raise unauthenticated(
            f"token claim {permissions_claim!r} must be a list of strings or a "
            "space-separated string"
        )
    namespace_claim = settings.jwt_namespace_claim
    namespaces = _names(claims, namespace_claim)
    if namespaces is None and not settings.jwt_absent_namespace_means_all:
        namespaces = []  # an absent claim grants no namespace unless told otherwise
    return Principal(
        subject=subject,
        permissions=frozenset(permissions),
        namespaces=scope(namespaces),
        task_queues=scope(_names(claims, "task_queues")),
        claims=claims,
    )


def _time_claim(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim (seconds since the epoch), None when absent."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise unauthenticated(f"token claim {name!r} must be a number of seconds since the epoch")


def _names(claims: dict[str, Any], name: str) -> list[str] | None:
    """A claim holding one name or a list of names; None when absent."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, str):
        return [value]
    if not _is_list_of_strings(value):
        raise unauthenticated(f"token claim {name!r} must be a string or a list of strings")
    return list(value)


def _is_list_of_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def mint(
    settings: Settings,
    subject: str,
    permissions: list[str],
    namespaces: list[str],
    ttl_seconds: int,
    now: int,
) -> str:
    """A development token signed with the configured HS256 secret. With no namespace the
    token carries no namespace claim (see `jwt_absent_namespace_means_all`)."""
    if settings.jwt_secret is None:
        raise ValueError("set TEMPORAL_GATEWAY_JWT_SECRET to mint tokens")
    check_secret(settings)
    claims: dict[str, Any] = {
        "sub": subject,
        settings.jwt_permissions_claim: permissions,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
    }
    if namespaces:
        claims[settings.jwt_namespace_claim] = namespaces[0] if len(namespaces) == 1 else namespaces
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return str(jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256"))
