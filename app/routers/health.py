"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.context import AppContext, context
from app.routers.strict_json import StrictJsonRoute

router = APIRouter(tags=["Health"], route_class=StrictJsonRoute)


class Health(BaseModel):
    status: str
    database: str


@router.get(
    "/healthz",
    response_model=Health,
    summary="Health check",
    responses={503: {"model": Health, "description": "The database is not reachable."}},
)
async def healthz(ctx: AppContext = Depends(context)) -> JSONResponse:
    """200 when the database answers a query, 503 when it does not."""
    ok = await ctx.db.ping()
    body = Health(status="ok" if ok else "unavailable", database=ctx.db.dialect)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
