"""Batch prediction jobs: classify a folder (or an uploaded zip) with one of your models on the
job system; list, show, follow, cancel, download the CSV and JSONL."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse

from custom_classifier.api import examples
from custom_classifier.api.batch_schemas import (
    ClassifierName,
    PredictionJobCreate,
    PredictionJobPublic,
    PredictionJobsPublic,
    RunId,
    VersionRef,
)
from custom_classifier.api.deps import CurrentUser, RuntimeDep, SessionDep
from custom_classifier.api.events import job_event_stream
from custom_classifier.api.responses import errors
from custom_classifier.jobs.batch_contract import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from custom_classifier.jobs.status import TERMINAL_STATUSES, JobStatus
from custom_classifier.services import batch_predictions
from custom_classifier.services.batch_predictions import BatchOrder
from custom_classifier.services.runtime import Runtime
from custom_classifier.services.users import Identity

router = APIRouter(tags=["batch predictions"])
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "summary": "application/json"}


@router.post(
    "/predictions",
    response_model=PredictionJobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Classify a folder (batch prediction job)",
    responses=errors(
        404,
        422,
        503,
        status_404="No such model, run or classifier version (`model_not_found`, "
        "`classifier_not_found`).",
        status_422="Not valid, a folder outside your data roots or with no documents.",
    ),
)
def create_prediction_job(
    body: PredictionJobCreate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> PredictionJobPublic:
    """Queue a job that classifies every document under `location` (a folder of your data
    roots) with a model named by `run_id`, or by `classifier` and `version` (a number or an
    alias, default `champion`; pinned to its version now). Follow it with
    `GET /predictions/{id}/events`; once `completed`, download `files.csv` and `files.jsonl`.
    A killed worker's job resumes where it stopped, classifying no document twice."""
    job = batch_predictions.submit_batch_prediction(session, runtime, user, body.to_order())
    return PredictionJobPublic.from_record(job)


@router.post(
    "/prediction-uploads",
    response_model=PredictionJobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Classify the documents of an uploaded zip",
    responses=errors(
        404,
        413,
        422,
        503,
        status_413="Too large, too many files, or a zip bomb.",
        status_422="Not a zip, unsafe entries (absolute paths, '..', links), or not valid.",
    ),
    openapi_extra=examples.curl_sample(
        'curl -H "Authorization: Bearer $CC_API_KEY" -F file=@inbox.zip -F classifier=invoices '
        "http://localhost:8000/api/v1/prediction-uploads"
    ),
)
def upload_prediction_job(
    file: Annotated[UploadFile, File(description="A .zip of documents (any folders).")],
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    run_id: Annotated[RunId | None, Form()] = None,
    classifier: Annotated[ClassifierName | None, Form()] = None,
    version: Annotated[VersionRef | None, Form()] = None,
    batch_size: Annotated[int, Form(ge=1, le=MAX_BATCH_SIZE)] = DEFAULT_BATCH_SIZE,
) -> PredictionJobPublic:
    """The job of `POST /predictions` for a zip (a path of its own: `/predictions/{job_id}`
    would take `upload` for a job id): it is unpacked into your area with the limits of a dataset
    upload (size, files, expansion ratio; no absolute paths, '..' or links), then classified."""
    order = BatchOrder(run_id=run_id, classifier=classifier, version=version, batch_size=batch_size)
    job = batch_predictions.submit_uploaded_zip(
        session, runtime, user, order, file.file, file.filename or "documents.zip"
    )
    return PredictionJobPublic.from_record(job)


@router.get(
    "/predictions",
    response_model=PredictionJobsPublic,
    summary="List your batch predictions",
    responses=errors(422),
)
def list_prediction_jobs(
    user: CurrentUser,
    session: SessionDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PredictionJobsPublic:
    """Your batch prediction jobs, newest first; `status` keeps those in one state."""
    records = batch_predictions.list_batch_predictions(session, user, status=status, limit=limit)
    data = [PredictionJobPublic.from_record(record) for record in records]
    return PredictionJobsPublic(data=data, count=len(data))


@router.get(
    "/predictions/{job_id}",
    response_model=PredictionJobPublic,
    summary="Show a batch prediction",
    responses=errors(404, 422),
)
def get_prediction_job(job_id: str, user: CurrentUser, session: SessionDep) -> PredictionJobPublic:
    """Status, progress (documents done, per second, seconds left), and once completed the
    summary (documents per label, unreadable ones), the download links and the MLflow
    artifact folder."""
    return PredictionJobPublic.from_record(
        batch_predictions.get_batch_prediction(session, user, job_id)
    )


@router.post(
    "/predictions/{job_id}/cancel",
    response_model=PredictionJobPublic,
    summary="Cancel a batch prediction",
    responses=errors(404, 409, 422, 503, status_409="It already ended (`job_not_cancellable`)."),
)
def cancel_prediction_job(
    job_id: str, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> PredictionJobPublic:
    """Cancel a queued job at once, or a running one after its current batch."""
    job = batch_predictions.cancel_batch_prediction(session, runtime, user, job_id)
    return PredictionJobPublic.from_record(job)


@router.get(
    "/predictions/{job_id}/events",
    response_class=EventSourceResponse,
    summary="Follow a batch prediction (server-sent events)",
    responses={200: {"content": {"text/event-stream": {}}}, **errors(404, 422)},
)
def prediction_job_events(
    job_id: str, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Any:
    """A `job` event (the job as JSON, without its history) at each change, then `end`."""
    batch_predictions.get_batch_prediction(session, user, job_id)  # 404 before the stream
    return job_event_stream(
        partial(_load_public, runtime, user, job_id),
        encode=lambda job: job.model_dump_json(exclude={"history"}),
        ended=lambda job: job.status in TERMINAL_STATUSES,
    )


@router.get(
    "/predictions/{job_id}/files/{name}",
    response_class=FileResponse,
    summary="Download a batch prediction's CSV, JSONL or summary",
    responses={
        200: {"content": {media: {} for media in MEDIA_TYPES.values()}},
        **errors(404, 409, 422, status_409="Not completed yet (`predictions_not_ready`)."),
    },
)
def download_prediction_file(
    job_id: str,
    name: Literal["csv", "jsonl", "summary"],
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
) -> FileResponse:
    """`csv` (path, label, score, abstained, error, scores), `jsonl` (one JSON object per
    document, the same fields) or `summary` (JSON) of a completed job."""
    path = batch_predictions.download(session, runtime, user, job_id, name)
    filename = f"predictions-{job_id}.{'json' if name == 'summary' else name}"
    return FileResponse(path, media_type=MEDIA_TYPES[name], filename=filename)


def _load_public(runtime: Runtime, user: Identity, job_id: str) -> PredictionJobPublic:
    with runtime.databases.metadata.sessions() as session:
        return PredictionJobPublic.from_record(
            batch_predictions.get_batch_prediction(session, user, job_id)
        )
