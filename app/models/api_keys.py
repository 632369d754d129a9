"""API key administration schemas."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.models.common import Duration, StrictModel


class CreateApiKeyRequest(StrictModel):
    name: str = Field(description="What the key is for, e.g. 'payments-worker'.")
    permissions: list[str] = Field(description="e.g. ['temporal:worker:*'].")
    namespaces: list[str] | None = Field(
        None,
        description=(
            "Namespaces the key may act in ('*': every one). Absent: every namespace, which "
            "only a caller that may act in every namespace may ask for. Never empty."
        ),
    )
    task_queues: list[str] | None = Field(
        None,
        description=(
            "Task queues the key may use ('*': every one). Absent: every queue, which only "
            "a caller not limited to some queues may ask for. Never empty."
        ),
    )
    ttl: Duration | None = Field(None, description="Lifetime, over 0s; absent: no expiry.")


class ApiKeyInfo(BaseModel):
    id: str
    name: str
    permissions: list[str]
    namespaces: list[str] | None = Field(description="null: every namespace.")
    task_queues: list[str] | None = Field(description="null: every task queue.")
    created_time: str
    expires_time: str | None = None
    revoked: bool


class CreateApiKeyResponse(ApiKeyInfo):
    key: str = Field(description="The key itself, shown this once; only its hash is kept.")


class ListApiKeysResponse(BaseModel):
    api_keys: list[ApiKeyInfo]
