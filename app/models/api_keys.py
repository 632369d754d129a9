"""API key administration schemas."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.models.common import Duration, StrictModel


class CreateApiKeyRequest(StrictModel):
    name: str = Field(description="What the key is for, e.g. 'payments-worker'.")
    permissions: list[str] = Field(description="e.g. ['temporal:worker:*'].")
    namespaces: list[str] = Field(default_factory=list, description="Empty: every namespace.")
    task_queues: list[str] = Field(default_factory=list, description="Empty: every queue.")
    ttl: Duration | None = Field(None, description="Lifetime; absent: no expiry.")


class ApiKeyInfo(BaseModel):
    id: str
    name: str
    permissions: list[str]
    namespaces: list[str]
    task_queues: list[str]
    created_time: str
    expires_time: str | None = None
    revoked: bool


class CreateApiKeyResponse(ApiKeyInfo):
    key: str = Field(description="The key itself, shown this once; only its hash is kept.")


class ListApiKeysResponse(BaseModel):
    api_keys: list[ApiKeyInfo]
