"""API keys: issued by the gateway, shown once, listed, revoked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app.auth import Principal
from app.context import AppContext, context
from app.models.api_keys import CreateApiKeyRequest, CreateApiKeyResponse, ListApiKeysResponse
from app.models.workflows import EmptyResponse
from app.permissions import Permission, caller, requires
from app.routers.docs import errors
from app.routers.strict_json import StrictJsonRoute
from app.services import api_keys as service

router = APIRouter(prefix="/api/v1/api-keys", tags=["API keys"], route_class=StrictJsonRoute)


@router.post(
    "",
    response_model=CreateApiKeyResponse,
    summary="CreateApiKey",
    **requires(Permission.CLUSTER_API_KEYS),
    responses=errors(),
)
async def create_api_key(
    body: CreateApiKeyRequest,
    ctx: AppContext = Depends(context),
    principal: Principal = Depends(caller),
) -> dict[str, Any]:
    """Issue a key with the given scope. The response carries the key once; the gateway
    keeps only a hash. Use it as `Authorization: Bearer <key>`. A key is never wider than
    its issuer: each permission must be granted by the caller's, and its namespaces and task
    queues must be among the caller's (PERMISSION_DENIED names what is too wide)."""
    return await service.create_api_key(ctx.db, ctx.clock, principal, body)


@router.get(
    "",
    response_model=ListApiKeysResponse,
    summary="ListApiKeys",
    **requires(Permission.CLUSTER_API_KEYS),
    responses=errors(),
)
async def list_api_keys(
    ctx: AppContext = Depends(context), principal: Principal = Depends(caller)
) -> dict[str, Any]:
    """The keys within the caller's scope (those it could have issued), with their scope
    and state (never the key itself)."""
    return await service.list_api_keys(ctx.db, principal)


@router.delete(
    "/{key_id}",
    response_model=EmptyResponse,
    summary="RevokeApiKey",
    **requires(Permission.CLUSTER_API_KEYS),
    responses=errors(404),
)
async def revoke_api_key(
    key_id: str, ctx: AppContext = Depends(context), principal: Principal = Depends(caller)
) -> EmptyResponse:
    """Revoke a key: it is refused from now on. A key beyond the caller's scope is
    NOT_FOUND, as if it did not exist."""
    await service.revoke_api_key(ctx.db, ctx.clock, principal, key_id)
    return EmptyResponse()
