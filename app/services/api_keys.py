"""API keys issued by the gateway: `tgk_<id>_<secret>`, shown once, stored as a SHA-256
hash of the secret, scoped (permissions, namespaces, task queues, expiry), listed and
revoked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import Principal
from app.db.tables import ApiKeyRow
from app.errors import ApiError, ErrorCode, bad_request

PREFIX = "tgk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


async def issue(
    session: AsyncSession,
    name: str,
    permissions: list[str],
    namespaces: list[str],
    task_queues: list[str],
    ttl_seconds: int | None,
    now: datetime,
) -> tuple[ApiKeyRow, str]:
    """A new key; the returned key text is the only time its secret exists in the clear."""
    if not name or len(name) > 255:
        raise bad_request("name", "name is required (at most 255 characters)")
    if not permissions:
        raise bad_request("permissions", "an API key needs at least one permission")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        name=name,
        secret_hash=_hash(secret),
        permissions=permissions,
        namespaces=namespaces,
        task_queues=task_queues,
        created_time=now,
        expires_time=now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
    )
    session.add(row)
    await session.flush()
    return row, f"{PREFIX}{key_id}_{secret}"


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
    return Principal(
        subject=f"api-key:{row.name}",
        permissions=frozenset(row.permissions),
        namespaces=frozenset(row.namespaces) if row.namespaces else None,
        task_queues=frozenset(row.task_queues) if row.task_queues else None,
    )


def describe(row: ApiKeyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "permissions": row.permissions,
        "namespaces": row.namespaces,
        "task_queues": row.task_queues,
        "created_time": row.created_time.isoformat(),
        "expires_time": row.expires_time.isoformat() if row.expires_time else None,
        "revoked": row.revoked_time is not None,
    }


async def list_keys(session: AsyncSession) -> list[ApiKeyRow]:
    query = select(ApiKeyRow).order_by(col(ApiKeyRow.created_time))
    return list((await session.execute(query)).scalars())


async def revoke(session: AsyncSession, key_id: str, now: datetime) -> None:
    row = await session.get(ApiKeyRow, key_id)
    if row is None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"API key {key_id!r} not found.",
            [{"type": "NotFound", "resource": "api_key"}],
        )
    if row.revoked_time is None:
        row.revoked_time = now
        session.add(row)
        await session.flush()
