"""API keys issued by the gateway: `tgk_<id>_<secret>`, shown once, stored as a SHA-256
hash of the secret, scoped (permissions, namespaces, task queues, expiry), listed and
revoked. A caller issues, sees and revokes only keys within its own scope.

The Admin API's use cases (`create_api_key`, `list_api_keys`, `revoke_api_key`) run their
own transaction; `issue`, `list_keys` and `revoke` work in the caller's session (the CLI's)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import Principal, scope
from app.clock import Clock
from app.db.database import Database, UnitOfWork
from app.db.tables import ApiKeyRow
from app.errors import ApiError, ErrorCode, bad_request, permission_denied
from app.models.api_keys import CreateApiKeyRequest

PREFIX = "tgk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


async def issue(
    session: AsyncSession,
    caller: Principal,
    name: str,
    permissions: list[str],
    namespaces: list[str] | None,
    task_queues: list[str] | None,
    ttl_seconds: float | None,
    now: datetime,
) -> tuple[ApiKeyRow, str]:
    """A new key, no wider than its caller on any axis (namespaces/task queues None: every
    one); the returned key text is the only time its secret exists in the clear."""
    if not name or len(name) > 255:
        raise bad_request("name", "name is required (at most 255 characters)")
    if not permissions:
        raise bad_request("permissions", "an API key needs at least one permission")
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise bad_request("ttl", "ttl must be longer than 0s; omit it for a key that never expires")
    for field, names in (("namespaces", namespaces), ("task_queues", task_queues)):
        if names is not None and not names:
            raise bad_request(field, f"{field} must name at least one; omit it for every one")
    wanted = Principal("", frozenset(permissions), scope(namespaces), scope(task_queues))
    excess = caller.excess(wanted)
    if excess is not None:
        raise permission_denied(f"this credential may not issue a key wider than itself: {excess}")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        name=name,
        secret_hash=_hash(secret),
        permissions=permissions,
        namespaces=_stored(wanted.namespaces),
        task_queues=_stored(wanted.task_queues),
        created_time=now,
        expires_time=now + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None,
    )
    session.add(row)
    await session.flush()
    return row, f"{PREFIX}{key_id}_{secret}"


def _stored(names: frozenset[str] | None) -> list[str]:
    """The columns keep "every one" as [] (as the first keys were stored); the API never
    lets [] mean that (see `issue`)."""
    return [] if names is None else sorted(names)


def _principal(row: ApiKeyRow) -> Principal:
    return Principal(
        subject=f"api-key:{row.name}",
        permissions=frozenset(row.permissions),
        namespaces=scope(row.namespaces or None),
        task_queues=scope(row.task_queues or None),
    )


async def principal_for(session: AsyncSession, key: str, now: datetime) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked key; None otherwise."""
    try:
        key_id, secret = key[len(PREFIX) :].split("_", 1)
    except ValueError:
        return None
    row = await session.get(ApiKeyRow, key_id)
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    if row.revoked_time is not None or (row.expires_time is not None and row.expires_time <= now):
        return None
    return _principal(row)


def describe(row: ApiKeyRow) -> dict[str, Any]:
    principal = _principal(row)
    return {
        "id": row.id,
        "name": row.name,
        "permissions": row.permissions,
        "namespaces": _listed(principal.namespaces),
        "task_queues": _listed(principal.task_queues),
        "created_time": row.created_time.isoformat(),
        "expires_time": row.expires_time.isoformat() if row.expires_time else None,
        "revoked": row.revoked_time is not None,
    }


def _listed(names: frozenset[str] | None) -> list[str] | None:
    return None if names is None else sorted(names)


async def list_keys(session: AsyncSession, caller: Principal) -> list[ApiKeyRow]:
    """The keys within the caller's scope (those it could have issued itself)."""
    query = select(ApiKeyRow).order_by(col(ApiKeyRow.created_time))
    rows = (await session.execute(query)).scalars()
    return [row for row in rows if caller.excess(_principal(row)) is None]


async def revoke(session: AsyncSession, caller: Principal, key_id: str, now: datetime) -> None:
    """Revoke a key within the caller's scope; one beyond it is NOT_FOUND, as if absent."""
    row = await session.get(ApiKeyRow, key_id)
    if row is None or caller.excess(_principal(row)) is not None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"API key {key_id!r} not found.",
            [{"type": "NotFound", "resource": "api_key"}],
        )
    if row.revoked_time is None:
        row.revoked_time = now
        session.add(row)
        await session.flush()


async def create_api_key(
    db: Database, clock: Clock, caller: Principal, request: CreateApiKeyRequest
) -> dict[str, Any]:
    """CreateApiKey: the new key described, with the key itself (shown this once)."""
    ttl = request.ttl.total_seconds() if request.ttl is not None else None

    async def create(uow: UnitOfWork) -> dict[str, Any]:
        row, key = await issue(
            uow.session,
            caller,
            request.name,
            request.permissions,
            request.namespaces,
            request.task_queues,
            ttl,
            clock.now(),
        )
        return {**describe(row), "key": key}

    return await db.run(create)


async def list_api_keys(db: Database, caller: Principal) -> dict[str, Any]:
    """ListApiKeys: the keys within the caller's scope, described."""
    async with db.read() as session:
        rows = await list_keys(session, caller)
    return {"api_keys": [describe(row) for row in rows]}


async def revoke_api_key(db: Database, clock: Clock, caller: Principal, key_id: str) -> None:
    """RevokeApiKey: a key within the caller's scope is refused from now on."""

    async def revoke_it(uow: UnitOfWork) -> None:
        await revoke(uow.session, caller, key_id, clock.now())

    await db.run(revoke_it)
