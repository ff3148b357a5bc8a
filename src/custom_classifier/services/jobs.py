"""Training jobs as users see them: submit (after the cheap data checks), follow, cancel."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from sqlalchemy.orm import Session

from custom_classifier import limits
from custom_classifier.config import Settings
from custom_classifier.corpus.reader import inspect_corpus
from custom_classifier.errors import (
    InvalidDatasetError,
    InvalidRequestError,
    JobNotCancellableError,
)
from custom_classifier.jobs.contract import TrainingRequest
from custom_classifier.jobs.queue import JobQueue
from custom_classifier.jobs.status import TERMINAL_STATUSES, JobKind, JobStatus
from custom_classifier.services.datasets import resolve_user_location
from custom_classifier.services.users import Identity
from custom_classifier.storage import job_repository
from custom_classifier.storage.tables import JobRecord
from custom_classifier.training.presets import check_base_model

CLASSIFIER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def validate_classifier_name(name: str) -> str:
    if not CLASSIFIER_NAME.fullmatch(name):
        raise InvalidRequestError(
            f"classifier name {name!r} is not allowed; use 1-64 letters, digits, '-' or '_', "
            "starting with a letter or digit",
            details={"name": name},
        )
    return name


def _check_label_count(labels: list[str]) -> None:
    if len(labels) > limits.MAX_LABELS:
        raise InvalidRequestError(
            f"the request names {len(labels)} labels; at most {limits.MAX_LABELS} are allowed. "
            "Name only the label folders to train on.",
            details={"labels": len(labels), "limit": limits.MAX_LABELS},
        )
    too_long = [label for label in labels if len(label) > limits.MAX_LABEL_CHARS]
    if too_long:
        raise InvalidRequestError(
            f"{len(too_long)} label(s) are longer than the {limits.MAX_LABEL_CHARS} characters "
            "a label (a folder name or a path of folders) may have; name existing label folders.",
            details={"limit": limits.MAX_LABEL_CHARS},
        )


def submit_training(
    session: Session,
    queue: JobQueue,
    settings: Settings,
    user: Identity,
    request: TrainingRequest,
) -> JobRecord:
    """Check the data (every problem at once), then queue the training job; the job row keeps
    the request with its owner, the resolved folder and the labels found there.

    Raises `InvalidDatasetError` with the data report when the folder cannot be trained on.
    """
    validate_classifier_name(request.name)
    _check_label_count(request.labels)
    for base_model in request.chosen_base_models(settings.base_model):
        check_base_model(base_model, settings)
    root = resolve_user_location(request.location, user.username, settings)
    corpus = inspect_corpus(
        root,
        request.labels,
        min_docs_per_label=settings.min_docs_per_label,
        mode=request.training.mode,
        levels=request.training.levels,
    )
    if corpus.report.problems:
        count = len(corpus.report.problems)
        raise InvalidDatasetError(
            f"the folder cannot be trained on: {count} problem(s); see details.report.problems",
            details={"report": corpus.report.to_dict()},
        )
    stored = replace(
        request, owner=user.username, location=str(root), labels=list(corpus.labels), job_id=None
    )
    job = JobRecord(
        id=uuid.uuid4().hex,
        owner=user.username,
        name=request.name,
        location=stored.location,
        labels=stored.labels,
        request=stored.to_row(),
        status=JobStatus.QUEUED,
    )
    job_repository.add_job(session, job)
    session.commit()
    queue.enqueue(job.id)
    return job


def list_jobs(
    session: Session, user: Identity, *, status: JobStatus | None = None, limit: int = 100
) -> list[JobRecord]:
    """The user's training jobs, newest first."""
    return job_repository.list_jobs(session, user.username, status=status, limit=limit)


def get_job(
    session: Session, user: Identity, job_id: str, *, kind: JobKind = JobKind.TRAINING
) -> JobRecord:
    """The user's job of this kind; `JobNotFoundError` when absent or someone else's."""
    return job_repository.get_job(session, job_id, owner=user.username, kind=kind)


def cancel_job(
    session: Session,
    queue: JobQueue,
    user: Identity,
    job_id: str,
    *,
    kind: JobKind = JobKind.TRAINING,
) -> JobRecord:
    """A queued job is cancelled at once, and so is a running one whose worker is gone; a
    running one stops at its next check (within a second)."""
    job = get_job(session, user, job_id, kind=kind)
    if job.status in TERMINAL_STATUSES:
        raise JobNotCancellableError(
            f"job {job_id} already ended ({job.status}); only queued or running jobs can be "
            "cancelled",
            details={"job_id": job_id, "status": job.status},
        )
    job_repository.request_cancel(session, job_id)
    job_repository.move(
        session,
        job_id,
        source=JobStatus.QUEUED,
        target=JobStatus.CANCELLED,
        message="cancelled before it started",
    )
    session.commit()
    queue.cancel(job_id)
    session.refresh(job)
    return job


def count_jobs_by_status(session: Session) -> dict[str, int]:
    return job_repository.count_by_status(session)
