"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import StateDep
from api.errors import RETRY_AFTER_S
from api.responses import JsonResponse

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    responses={503: {"description": "The database is not reachable"}},
)
async def readyz(state: StateDep) -> Response:
    """200 when a query reaches the database within the timeout, else 503 with Retry-After."""
    try:
        async with state.pool.connection(timeout=state.settings.api_db_timeout_s) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason goes to the client
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable", "detail": reason[:200]},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return JsonResponse({"status": "ready", "database": "ok"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route, in the Prometheus text format."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
