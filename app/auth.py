"""Who is calling: Bearer JWTs checked with python-jose (signature with an algorithm
allow-list, issuer, audience, exp/nbf/iat with a small leeway) and turned into a
Principal carrying the spec's permissions and namespaces. With authentication off, every
caller is an anonymous principal with every permission."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jose import JWTError, jwt

from app.clock import Clock
from app.errors import ApiError, ErrorCode
from app.jwks import KeySet
from app.settings import Settings

ALL = "temporal:*"
HMAC = {"HS256", "HS384", "HS512"}
MIN_SECRET_LENGTH = 32
WEAK_SECRETS = {"secret", "changeme", "change-me", "password", "temporal", "default"}


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
        return self.namespaces is None or "*" in self.namespaces or namespace in self.namespaces


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
        self._key_set = KeySet(settings, clock)

    @cached_property
    def _public_key(self) -> str | None:
        path = self.settings.jwt_public_key_file
        return Path(path).read_text() if path else None

    async def _key_for(self, algorithm: str, kid: str | None = None) -> str | dict[str, Any]:
        allowed = {a.upper() for a in self.settings.jwt_algorithms} - {"NONE"}
        if algorithm.upper() not in allowed:
            raise unauthenticated(f"token algorithm {algorithm!r} is not accepted")
        if algorithm.upper() in HMAC:
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
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            algorithm = str(header.get("alg", ""))
            claims: dict[str, Any] = jwt.decode(
                token,
                await self._key_for(algorithm, header.get("kid")),
                algorithms=[algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={
                    "leeway": self.settings.jwt_leeway_seconds,
                    "verify_aud": self.settings.jwt_audience is not None,
                    "require_exp": True,
                },
            )
        except ApiError:
            raise
        except (JWTError, ValueError, TypeError):
            # The reason stays vague on purpose: the token itself is never echoed.
            raise unauthenticated("invalid or expired token") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        permissions = claims.get(self.settings.jwt_permissions_claim) or []
        if isinstance(permissions, str):
            permissions = permissions.split()
        namespaces = claims.get(self.settings.jwt_namespace_claim)
        if isinstance(namespaces, str):
            namespaces = [namespaces]
        queues = claims.get("task_queues")
        return Principal(
            subject=str(claims.get("sub", "")),
            permissions=frozenset(str(p) for p in permissions),
            namespaces=frozenset(str(n) for n in namespaces) if namespaces else None,
            task_queues=frozenset(str(q) for q in queues) if queues else None,
            claims=claims,
        )


def mint(
    settings: Settings,
    subject: str,
    permissions: list[str],
    namespaces: list[str],
    ttl_seconds: int,
    now: int,
) -> str:
    """A development token signed with the configured HS256 secret."""
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
        claims[settings.jwt_namespace_claim] = (
            namespaces[0] if len(namespaces) == 1 else (namespaces)
        )
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return str(jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256"))
