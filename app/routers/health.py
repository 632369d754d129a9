"""Probes: liveness (/livez), readiness (/readyz) and the database's health (/healthz).
None is authenticated or rate-limited."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.context import AppContext, context
from app.routers.strict_json import StrictJsonRoute
from app.services import readiness

router = APIRouter(tags=["Health"], route_class=StrictJsonRoute)


class Health(BaseModel):
    status: str
    database: str


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    failed: list[str] = Field(
        description="The checks that failed, in order (empty when ready); later ones are not run."
    )
    checks: dict[str, str] = Field(
        description="Each check (shutdown, database, migrations, cluster): 'ok' (or 'ok: "
        "…' when it does not apply), why it failed, or 'not checked'.",
        examples=[
            {
                "shutdown": "ok",
                "database": "ok",
                "migrations": "ok",
                "cluster": "ok: one process (SQLite)",
            }
        ],
    )


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


@router.get("/livez", response_model=Liveness, summary="Liveness probe")
async def livez() -> Liveness:
    """200 while the process serves requests; it touches no database, so a slow or
    unreachable database never gets a live process restarted (that is /readyz's
    business). Stays 200 while the server stops."""
    return Liveness(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness probe",
    responses={
        503: {
            "model": Readiness,
            "description": "Not ready: the server is stopping, the database does not answer, "
            "its schema is not at this gateway's migration head, or (on PostgreSQL) this "
            "process is not a live cluster member holding shard leases. `failed` names "
            "the check.",
        }
    },
)
async def readyz(ctx: AppContext = Depends(context)) -> JSONResponse:
    """200 when this process should get traffic: it is not stopping, the database answers
    (within 0.9 s), the schema is at the head of this gateway's migrations, and, on
    PostgreSQL, it is a live cluster member holding shard leases. 503 otherwise, naming
    the failed check."""
    result = await readiness.check(ctx)
    body = Readiness(
        status="unavailable" if result.failed else "ready",
        failed=result.failed,
        checks=result.checks,
    )
    return JSONResponse(body.model_dump(), status_code=503 if result.failed else 200)
