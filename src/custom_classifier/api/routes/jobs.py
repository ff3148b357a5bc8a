"""Training jobs: create (via POST /classifiers), list, show, cancel, follow as server-sent events."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sse_starlette import EventSourceResponse

from custom_classifier.api import examples
from custom_classifier.api.deps import CurrentUser, RuntimeDep, SessionDep
from custom_classifier.api.events import job_event_stream
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import JobPublic, JobsPublic
from custom_classifier.jobs.status import TERMINAL_STATUSES, JobStatus
from custom_classifier.services import jobs
from custom_classifier.services.runtime import Runtime
from custom_classifier.services.users import Identity

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=JobsPublic, summary="List your training jobs", responses=errors(422))
def list_jobs(
    user: CurrentUser,
    session: SessionDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobsPublic:
    """Your training jobs, newest first; `status` keeps those in one state."""
    records = jobs.list_jobs(session, user, status=status, limit=limit)
    return JobsPublic(data=[JobPublic.from_record(r) for r in records], count=len(records))


@router.get(
    "/{job_id}",
    response_model=JobPublic,
    summary="Show a training job",
    responses=errors(404, 422),
)
def get_job(job_id: str, user: CurrentUser, session: SessionDep) -> JobPublic:
    """One of your jobs: status, progress and curves, test metrics, MLflow run id, the
    registered model when accepted, the reasons when rejected, the error when failed, and its
    history."""
    return JobPublic.from_record(jobs.get_job(session, user, job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    summary="Cancel a training job",
    responses=errors(
        404, 409, 422, 503, status_409="The job already ended (`job_not_cancellable`)."
    ),
)
def cancel_job(
    job_id: str, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> JobPublic:
    """Cancel a queued job at once, or ask a running one to stop within a second; nothing is
    registered. A job that already ended answers 409."""
    return JobPublic.from_record(jobs.cancel_job(session, runtime.queue, user, job_id))


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    summary="Follow a training job (server-sent events)",
    responses={
        200: {"content": {"text/event-stream": {"example": examples.JOB_EVENTS}}},
        **errors(404, 422),
    },
)
def job_events(job_id: str, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Server-sent events: a `job` event (the job as JSON, without its history) at each
    change, then `end` when the job has ended. Try `curl -N -H "Authorization: Bearer
    $CC_API_KEY" http://localhost:8000/api/v1/jobs/{id}/events`."""
    jobs.get_job(session, user, job_id)  # 404 before the stream starts
    return job_event_stream(
        partial(_load_public, runtime, user, job_id),
        encode=lambda job: job.model_dump_json(exclude={"history"}),
        ended=lambda job: job.status in TERMINAL_STATUSES,
    )


def _load_public(runtime: Runtime, user: Identity, job_id: str) -> JobPublic:
    with runtime.databases.metadata.sessions() as session:
        return JobPublic.from_record(jobs.get_job(session, user, job_id))
