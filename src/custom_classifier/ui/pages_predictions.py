"""The "Classify a folder" page: a batch prediction job from a folder or a zip, its live
progress, its summary and its files. The same services as `/api/v1/predictions`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import FileResponse, RedirectResponse, Response

from custom_classifier.api.deps import RuntimeDep, SessionDep, get_runtime
from custom_classifier.api.errors import status_for
from custom_classifier.api.events import job_event_stream
from custom_classifier.errors import CustomClassifierError, InvalidRequestError
from custom_classifier.jobs.batch_contract import (
    DEFAULT_BATCH_SIZE,
    BatchJobProgress,
    BatchJobResult,
    BatchPredictionRequest,
)
from custom_classifier.jobs.status import TERMINAL_STATUSES, JobStatus
from custom_classifier.services import batch_predictions, classifiers
from custom_classifier.services.batch_predictions import BatchOrder
from custom_classifier.services.users import Identity
from custom_classifier.storage.tables import JobRecord
from custom_classifier.ui.rendering import UiRoute, render
from custom_classifier.ui.session import CsrfChecked, UiUser

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from custom_classifier.services.runtime import Runtime

router = APIRouter(route_class=UiRoute)
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "summary": "application/json"}


@router.get("/predictions")
def predictions_page(request: Request, user: UiUser, classifier: str = "") -> Response:
    """The form, and the user's batch predictions, newest first."""
    return _form(request, user, {"classifier": classifier, "version": "", "location": ""})


def _form(
    request: Request,
    user: Identity,
    values: dict[str, str],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = get_runtime(request)
    names = [info.name for info in classifiers.list_classifiers(runtime.registry, user)]
    with runtime.databases.metadata.sessions() as session:
        records = batch_predictions.list_batch_predictions(session, user, limit=20)
        rows = [batch_view(record) for record in records]
    context = {"names": names, "form": values, "form_error": error, "jobs": rows}
    return render(request, "predictions.html", context | {"nav": "predictions"}, status_code)


@router.post("/predictions", dependencies=[CsrfChecked])
def submit(
    request: Request,
    user: UiUser,
    session: SessionDep,
    runtime: RuntimeDep,
    classifier: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Queue the job and open its page; a problem shows the form again with the message."""
    values = {"classifier": classifier, "version": version, "location": location}
    reference = classifier.strip()
    run_id = reference if len(reference) == 32 and reference.isalnum() else None
    order = BatchOrder(
        location=location.strip() or None,
        run_id=run_id,
        classifier=None if run_id else reference or None,
        version=version.strip() or None,
        batch_size=DEFAULT_BATCH_SIZE,
    )
    try:
        job = _submit(session, runtime, user, order, file)
    except CustomClassifierError as error:
        return _form(request, user, values, error=error.message, status_code=status_for(error))
    return RedirectResponse(f"/ui/predictions/{job.id}", status_code=303)


def _submit(
    session: Session, runtime: Runtime, user: Identity, order: BatchOrder, file: UploadFile | None
) -> JobRecord:
    uploaded = file is not None and bool(file.filename)
    if uploaded == (order.location is not None):
        raise InvalidRequestError("give either a folder or a zip file of documents, not both")
    if file is not None and uploaded:
        filename = file.filename or "documents.zip"
        return batch_predictions.submit_uploaded_zip(
            session, runtime, user, order, file.file, filename
        )
    return batch_predictions.submit_batch_prediction(session, runtime, user, order)


@router.get("/predictions/{job_id}")
def job_page(request: Request, job_id: str, user: UiUser, session: SessionDep) -> Response:
    """Live progress (documents done, per second, time left), then the summary and the files."""
    job = batch_predictions.get_batch_prediction(session, user, job_id)
    context = {"job": batch_view(job), "nav": "predictions"}
    return render(request, "prediction_job.html", context)


@router.get("/predictions/{job_id}/events")
def job_events(job_id: str, user: UiUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Server-sent events: `job` (the page's view) at each change, `end` when it ends."""
    batch_predictions.get_batch_prediction(session, user, job_id)

    def load() -> dict[str, Any]:
        with runtime.databases.metadata.sessions() as session:
            return batch_view(batch_predictions.get_batch_prediction(session, user, job_id))

    return job_event_stream(load, encode=_json, ended=lambda view: view["terminal"])


@router.post("/predictions/{job_id}/cancel", dependencies=[CsrfChecked])
def cancel(job_id: str, user: UiUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    batch_predictions.cancel_batch_prediction(session, runtime, user, job_id)
    return RedirectResponse(f"/ui/predictions/{job_id}", status_code=303)


@router.get("/predictions/{job_id}/files/{name}")
def download(
    job_id: str, name: str, user: UiUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    path = batch_predictions.download(session, runtime, user, job_id, name)
    filename = f"predictions-{job_id}.{'json' if name == 'summary' else name}"
    return FileResponse(path, media_type=MEDIA_TYPES[name], filename=filename)


def batch_view(job: JobRecord) -> dict[str, Any]:
    """What the page shows of a batch prediction job (also sent as its events)."""
    request = BatchPredictionRequest.from_row(job.request)
    progress = BatchJobProgress.from_row(job.progress) or BatchJobProgress()
    result = BatchJobResult.from_row(job.result)
    total = progress.total or 0
    return {
        "id": job.id,
        "status": job.status,
        "terminal": job.status in TERMINAL_STATUSES,
        "model": request.model,
        "model_uri": request.model_uri,
        "run_id": request.model_run_id,
        "location": request.location,
        "upload": request.upload,
        "done": progress.done,
        "total": progress.total,
        "percent": 100.0 if job.status == JobStatus.COMPLETED else _percent(progress.done, total),
        "rate": _rate(progress.per_second),
        "eta": _eta(job.status, progress.seconds_left),
        "resumed": progress.resumed,
        "attempts": job.attempts,
        "summary": result.summary or None,
        "artifact_path": result.artifact_path,
        "error": job.error_message,
        "cancel_requested": job.cancel_requested,
        "created": job.created_at.strftime("%Y-%m-%d %H:%M"),
    }


def _percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 0.0


def _rate(per_second: float | None) -> str:
    return "" if per_second is None else f"{per_second:,.1f} documents per second"


def _eta(status: str, seconds: float | None) -> str:
    if status == JobStatus.QUEUED:
        return "waiting for a worker"
    if status != JobStatus.RUNNING:
        return ""
    if seconds is None:
        return "loading the model…"
    minutes, rest = divmod(int(seconds + 0.5), 60)
    return f"about {minutes} min {rest} s left" if minutes else f"about {rest} s left"


def _json(view: dict[str, Any]) -> str:
    return json.dumps(view, default=str)
