"""`create_api(settings)`: the REST API under `/api/v1`, with the runtime (databases, the job
runner) started and stopped with it. `custom_classifier.app.create_app` adds the web UI."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError

from custom_classifier import limits
from custom_classifier.api import API_PREFIX
from custom_classifier.api.body_limit import BodyLimit
from custom_classifier.api.deps import refuse_unknown_query
from custom_classifier.api.docs import install_docs
from custom_classifier.api.errors import install_error_handlers
from custom_classifier.api.metrics import Metrics, MetricsMiddleware
from custom_classifier.api.responses import API_ERRORS
from custom_classifier.api.routes import (
    base_models,
    classifiers,
    datasets,
    health,
    jobs,
    mlflow_access,
    models,
    predictions,
    users,
)
from custom_classifier.config import Settings, get_settings
from custom_classifier.errors import ConflictError
from custom_classifier.services.runtime import Runtime
from custom_classifier.services.users import NewApiKey, ensure_initial_admin

logger = logging.getLogger(__name__)

DESCRIPTION = """Every request under `/api/v1` carries an API key: `Authorization: Bearer <key>`
(the first admin's key is printed when the service first starts; `custom-classifier keys create
NAME` makes more). Errors answer `{"error": {"code", "message", "details"}}` with a stable `code`.

A typical session: upload a zip of label folders (`POST /datasets`), train on its `location`
(`POST /classifiers`), follow the job (`GET /jobs/{id}/events`), then classify by name
(`POST /classifiers/{name}/predict`) or by the job's `run_id` (`POST /models/{run_id}/predict`).
"""


def create_api(settings: Settings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """The API application; `run_jobs=False` serves requests without starting the job runner."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(_start, settings, run_jobs)
        app.state.runtime = runtime
        metrics.watch(runtime)
        try:
            yield
        finally:
            await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="Custom classifier",
        version="1",
        summary="Train document classifiers from folders of labeled documents, then use them.",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs: the pages and their assets work offline
        redoc_url=None,
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit, json_limit=limits.MAX_JSON_BODY_BYTES, upload_limit=settings.max_upload_bytes
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    api = APIRouter(
        prefix=API_PREFIX, responses=API_ERRORS, dependencies=[Depends(refuse_unknown_query)]
    )
    for module in (
        classifiers,
        jobs,
        models,
        predictions,
        base_models,
        datasets,
        users,
        mlflow_access,
    ):
        api.include_router(module.router)
    api.include_router(health.router, include_in_schema=False)
    app.include_router(api)
    app.include_router(health.router)
    install_docs(app)
    return app


def _start(settings: Settings, run_jobs: bool) -> Runtime:
    runtime = Runtime.open(settings)
    try:
        with runtime.databases.admin.session() as session:
            created = ensure_initial_admin(session)
    except (ConflictError, IntegrityError):
        created = None  # another replica starting at the same time created the admin first
    if created is not None:
        announce_initial_admin(created)
    if run_jobs:
        runtime.queue.start()
    return runtime


def announce_initial_admin(created: NewApiKey) -> None:
    """Printed once, on the first start: the only time this key is shown."""
    print(
        "\n  Created the admin user 'admin'. Its API key (shown only now):\n\n"
        f"    {created.key}\n\n"
        "  Use it as `Authorization: Bearer <key>`; create users with "
        "`custom-classifier users create NAME`.\n",
        file=sys.stderr,
        flush=True,
    )
