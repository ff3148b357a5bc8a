"""Batch prediction jobs as users see them: classify a folder (or an uploaded zip) with one of
their models on the job system, follow it, cancel it, download what it wrote."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy.orm import Session

from custom_classifier.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    PredictionsNotReadyError,
)
from custom_classifier.inference.folder_predictions import CSV_NAME, JSONL_NAME, list_documents
from custom_classifier.jobs.batch_contract import (
    DEFAULT_BATCH_SIZE,
    SUMMARY_NAME,
    BatchPredictionRequest,
    output_dir,
)
from custom_classifier.jobs.status import JobKind, JobStatus
from custom_classifier.services import datasets, jobs
from custom_classifier.services.predictions import classifier_model_uri, missing_model
from custom_classifier.services.users import Identity
from custom_classifier.storage import job_repository
from custom_classifier.storage.tables import JobRecord

if TYPE_CHECKING:
    from custom_classifier.services.runtime import Runtime

DOWNLOADS = {"csv": CSV_NAME, "jsonl": JSONL_NAME, "summary": SUMMARY_NAME}
"""What `download` serves, by the name the API and the UI use."""


@dataclass(frozen=True)
class BatchOrder:
    """Which model (a run id, or a classifier with a version or alias) and which documents."""

    location: str | None = None
    run_id: str | None = None
    classifier: str | None = None
    version: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def model(self) -> str:
        """The model as the user named it."""
        if self.classifier is None:
            return self.run_id or ""
        return self.classifier if self.version is None else f"{self.classifier}@{self.version}"


def submit_batch_prediction(
    session: Session, runtime: Runtime, user: Identity, order: BatchOrder
) -> JobRecord:
    """Check the model and the folder, then queue the job; the model is pinned (an alias
    becomes its version) so every attempt of the job uses the same one."""
    model_uri, run_id = _pinned_model(runtime, user, order)
    if order.location is None:
        raise InvalidRequestError("give the folder to classify in `location`")
    folder = datasets.resolve_user_location(order.location, user.username, runtime.settings)
    return _queue(session, runtime, user, order, model_uri, run_id, folder)


def submit_uploaded_zip(
    session: Session,
    runtime: Runtime,
    user: Identity,
    order: BatchOrder,
    upload: BinaryIO,
    filename: str,
) -> JobRecord:
    """`submit_batch_prediction` for a zip of documents, unpacked into the user's area with the
    checks of a dataset upload (size, file count, expansion ratio, unsafe paths)."""
    model_uri, run_id = _pinned_model(runtime, user, order)
    info = datasets.unpack_dataset(upload, filename, user.username, runtime.settings)
    folder = Path(info.location)
    return _queue(session, runtime, user, order, model_uri, run_id, folder, upload=filename)


def _pinned_model(runtime: Runtime, user: Identity, order: BatchOrder) -> tuple[str, str]:
    from custom_classifier.registry.batch_artifacts import pin_model

    if (order.run_id is None) == (order.classifier is None):
        raise InvalidRequestError(
            "name the model by `run_id` or by `classifier` (with an optional `version`: a "
            "number or an alias), not both and not neither",
            details={"run_id": order.run_id, "classifier": order.classifier},
        )
    if order.run_id is not None:
        if order.version is not None:
            raise InvalidRequestError("`version` goes with `classifier`, not with `run_id`")
        return pin_model(runtime.registry, runtime.run_owners.model_uri(user, order.run_id))
    assert order.classifier is not None
    uri = classifier_model_uri(user, order.classifier, order.version)
    try:
        return pin_model(runtime.registry, uri)
    except ModelNotFoundError:
        raise missing_model(runtime.registry, user, order.classifier, order.version) from None


def _queue(
    session: Session,
    runtime: Runtime,
    user: Identity,
    order: BatchOrder,
    model_uri: str,
    run_id: str,
    folder: Path,
    *,
    upload: str | None = None,
) -> JobRecord:
    if not list_documents(folder):
        raise InvalidRequestError(
            f"{folder} holds no documents to classify; give a folder with files in it",
            details={"location": str(folder)},
        )
    request = BatchPredictionRequest(
        model=order.model,
        model_uri=model_uri,
        model_run_id=run_id,
        location=str(folder),
        owner=user.username,
        batch_size=order.batch_size,
        upload=upload,
    )
    job = JobRecord(
        id=uuid.uuid4().hex,
        kind=JobKind.BATCH_PREDICTION,
        owner=user.username,
        name=order.model[:64],
        location=request.location,
        labels=[],
        request=request.to_row(),
        status=JobStatus.QUEUED,
        run_id=run_id,
    )
    job_repository.add_job(session, job)
    session.commit()
    runtime.queue.enqueue(job.id)
    return job


def list_batch_predictions(
    session: Session, user: Identity, *, status: JobStatus | None = None, limit: int = 100
) -> list[JobRecord]:
    """The user's batch prediction jobs, newest first."""
    return job_repository.list_jobs(
        session, user.username, status=status, limit=limit, kind=JobKind.BATCH_PREDICTION
    )


def get_batch_prediction(session: Session, user: Identity, job_id: str) -> JobRecord:
    """The user's batch prediction job; `JobNotFoundError` when absent or someone else's."""
    return jobs.get_job(session, user, job_id, kind=JobKind.BATCH_PREDICTION)


def cancel_batch_prediction(
    session: Session, runtime: Runtime, user: Identity, job_id: str
) -> JobRecord:
    """Cancel at once when queued; a running job stops after its current batch."""
    return jobs.cancel_job(session, runtime.queue, user, job_id, kind=JobKind.BATCH_PREDICTION)


def download(session: Session, runtime: Runtime, user: Identity, job_id: str, name: str) -> Path:
    """The file `name` (`csv`, `jsonl` or `summary`) of a completed job."""
    job = get_batch_prediction(session, user, job_id)
    if name not in DOWNLOADS:
        raise InvalidRequestError(
            f"no file {name!r}; expected one of {sorted(DOWNLOADS)}", details={"file": name}
        )
    path = output_dir(runtime.settings, job.id) / DOWNLOADS[name]
    if job.status != JobStatus.COMPLETED or not path.is_file():
        raise PredictionsNotReadyError(
            f"job {job_id} is {job.status}; its files can be downloaded once it has completed. "
            f"Follow it with GET /api/v1/predictions/{job_id}/events",
            details={"job_id": job_id, "status": job.status},
        )
    return path
