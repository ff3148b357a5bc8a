"""Liveness, readiness and Prometheus metrics; no authentication (for probes and scrapers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from custom_classifier.api import examples
from custom_classifier.api.deps import RuntimeDep
from custom_classifier.api.responses import errors
from custom_classifier.services import health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """The process is alive (for a liveness probe); checks nothing else."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    responses=errors(
        500,
        503,
        status_503="A dependency is not reachable.",
        own_examples={503: examples.NOT_READY},
    ),
)
def readyz(runtime: RuntimeDep) -> Any:
    """Ready to serve (for a readiness probe): the databases, MLflow and the job queue are
    reachable. 503 names those that are not."""
    checks = health.readiness(runtime)
    if all(value == "ok" for value in checks.values()):
        return {"status": "ready", "checks": checks}
    body = {
        "error": {
            "code": "service_unavailable",
            "message": "not ready: " + ", ".join(k for k, v in checks.items() if v != "ok"),
            "details": {"checks": checks},
        }
    }
    return JSONResponse(body, status_code=503)


@router.get(
    "/metrics", response_class=Response, summary="Prometheus metrics", responses=errors(500)
)
def metrics(request: Request) -> Response:
    """Request counts and latencies, predictions and jobs by state, in the Prometheus text
    format."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
