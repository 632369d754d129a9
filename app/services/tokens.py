"""Opaque, tamper-evident tokens (page tokens, task tokens): JSON state signed with
HMAC-SHA256 under a key kept in the database, so tokens outlive restarts and work across
processes. A token of one kind is never accepted as another kind.

A task token is one typed value, `TaskToken`, sealed and opened by the signer (`seal`,
`open`); whatever was forged, cut or mangled is INVALID_ARGUMENT naming task_token, and
one issued in another namespace PERMISSION_DENIED."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import ClusterMetadata
from app.errors import bad_request, permission_denied

SECRET_KEY = "token_signing_secret"
TASK_TOKEN_FIELD = "task_token"
INVALID_TASK_TOKEN = "task_token is not a valid task token"


class TaskKind(StrEnum):
    """What a task token answers (its value is the kind signed into the token)."""

    WORKFLOW = "workflow_task"
    ACTIVITY = "activity_task"
    QUERY = "query_task"


@dataclass(frozen=True, slots=True)
class TaskToken:
    """The task a worker answers: a workflow task or activity attempt (its run, the event
    that scheduled it and the attempt), or a query task (the query's id)."""

    kind: TaskKind
    namespace_id: str
    workflow_id: str = ""
    run_id: str = ""
    scheduled_event_id: int = 0
    attempt: int = 0
    query_id: str = ""

    @classmethod
    def for_task(
        cls,
        kind: TaskKind,
        namespace_id: str,
        workflow_id: str,
        run_id: str,
        scheduled_event_id: int,
        attempt: int,
    ) -> TaskToken:
        return cls(kind, namespace_id, workflow_id, run_id, scheduled_event_id, attempt)

    @classmethod
    def for_query(cls, namespace_id: str, query_id: str) -> TaskToken:
        return cls(TaskKind.QUERY, namespace_id, query_id=query_id)

    @property
    def run_key(self) -> tuple[str, str, str]:
        """(namespace id, workflow id, run id) of the run the task belongs to."""
        return self.namespace_id, self.workflow_id, self.run_id

    def claims(self) -> dict[str, Any]:
        """The signed state (the wire format tokens have always had)."""
        if self.kind is TaskKind.QUERY:
            return {"ns": self.namespace_id, "id": self.query_id}
        return {
            "ns": self.namespace_id,
            "wf": self.workflow_id,
            "run": self.run_id,
            "sched": self.scheduled_event_id,
            "attempt": self.attempt,
        }

    @classmethod
    def of_claims(cls, kind: TaskKind, claims: dict[str, Any]) -> TaskToken:
        """Raises KeyError, TypeError or ValueError on claims not of this shape."""
        namespace_id = claims["ns"]
        if not isinstance(namespace_id, str):
            raise TypeError("ns")
        if kind is TaskKind.QUERY:
            return cls.for_query(namespace_id, str(claims["id"]))
        return cls.for_task(
            kind,
            namespace_id,
            str(claims["wf"]),
            str(claims["run"]),
            int(claims["sched"]),
            int(claims["attempt"]),
        )


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

    def seal(self, token: TaskToken) -> str:
        return self.encode(token.kind, token.claims())

    def open(self, text: str, kind: TaskKind, namespace_id: str) -> TaskToken:
        """The task token ``text`` stands for, if this signer issued it for a task of
        ``kind`` in the namespace ``namespace_id``."""
        claims = self.decode(kind, text, field=TASK_TOKEN_FIELD)
        try:
            token = TaskToken.of_claims(kind, claims)
        except (KeyError, TypeError, ValueError):
            raise bad_request(TASK_TOKEN_FIELD, INVALID_TASK_TOKEN) from None
        if token.namespace_id != namespace_id:
            raise permission_denied("task_token was issued in another namespace")
        return token


async def load_or_create_secret(session: AsyncSession) -> bytes:
    row = await session.get(ClusterMetadata, SECRET_KEY)
    if row is None:
        row = ClusterMetadata(key=SECRET_KEY, value=secrets.token_hex(32))
        session.add(row)
        await session.flush()
    return bytes.fromhex(row.value)
