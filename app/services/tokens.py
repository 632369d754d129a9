"""Opaque, tamper-evident tokens (page tokens, task tokens): JSON state signed with
HMAC-SHA256 under a key kept in the database, so tokens outlive restarts and work across
processes. A token of one kind is never accepted as another kind."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import ClusterMetadata
from app.errors import bad_request

SECRET_KEY = "token_signing_secret"


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, kind: str, state: dict[str, Any]) -> str:
        body = json.dumps({"k": kind, **state}, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")

    def decode(self, kind: str, token: str, field: str = "next_page_token") -> dict[str, Any]:
        # The field names the token: next_page_token a page token, task_token a task token.
        invalid = f"{field} is not a valid {field.removeprefix('next_').replace('_', ' ')}"
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise bad_request(field, invalid) from None
        mac, body = raw[:16], raw[16:]
        expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(mac, expected):
            raise bad_request(field, invalid)
        state: dict[str, Any] = json.loads(body)
        if state.pop("k", None) != kind:
            raise bad_request(field, f"{field} belongs to another request")
        return state


async def load_or_create_secret(session: AsyncSession) -> bytes:
    row = await session.get(ClusterMetadata, SECRET_KEY)
    if row is None:
        row = ClusterMetadata(key=SECRET_KEY, value=secrets.token_hex(32))
        session.add(row)
        await session.flush()
    return bytes.fromhex(row.value)
