"""`execute_job`: run one queued job (a training or a batch prediction) and record every state
transition.

Called by the embedded worker process and by the Celery task. It takes ids only and is
idempotent: a job that is not `queued` any more is left alone. Every write of the worker names
its attempt, so a worker given up for dead (and its job re-queued) that comes back changes
nothing and stops.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from custom_classifier.config import Settings
from custom_classifier.errors import (
    CustomClassifierError,
    TrainingCancelledError,
    WorkerInterrupted,
)
from custom_classifier.jobs.batch_contract import BatchJobResult, BatchPredictionRequest
from custom_classifier.jobs.batch_run import BatchProgressWriter, run_batch_prediction
from custom_classifier.jobs.contract import JobProgress, JobResult, TrainingRequest
from custom_classifier.jobs.heartbeat import Heartbeat
from custom_classifier.jobs.recovery import end_runs_in_mlflow, release
from custom_classifier.jobs.status import JobKind, JobStatus
from custom_classifier.jobs.training_run import TrainingOutcome, run_training
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.engine import Database
from custom_classifier.training.arguments import Progress
from custom_classifier.training.curves import TrainingCurves

logger = logging.getLogger(__name__)

CANCEL_CHECK_SECONDS = 1.0
PROGRESS_WRITE_SECONDS = 1.0


def execute_job(job_id: str, settings: Settings) -> str | None:
    """Run the job if it is queued; return its final status, or None when it was not queued."""
    database = Database.connect(settings.resolved_database_url)
    try:
        with database.session() as session:
            if not jobs.claim(session, job_id, host=socket.gethostname(), pid=os.getpid()):
                logger.info("job %s is not queued any more; nothing to do", job_id)
                return None
            job = jobs.get_job(session, job_id)
            kind, row, attempt = job.kind, job.request, job.attempts
        try:
            url, seconds = settings.resolved_database_url, settings.job_heartbeat_seconds
            with Heartbeat(url, job_id, attempt, seconds):
                if kind == JobKind.BATCH_PREDICTION:
                    batch = BatchPredictionRequest.from_row(row)
                    return _predict_and_record(database, job_id, batch, attempt, settings)
                request = TrainingRequest.from_row(row, job_id=job_id)
                return _train_and_record(database, request, attempt, settings)
        except WorkerInterrupted as interrupted:
            return _release(database, job_id, attempt, interrupted.reason, settings)
    finally:
        database.dispose()


def _release(
    database: Database, job_id: str, attempt: int, reason: str, settings: Settings
) -> str | None:
    """This worker is being stopped: end its run (if the run did not end itself) and re-queue."""
    logger.warning("job %s interrupted: %s", job_id, reason)
    with database.session() as session:
        job = jobs.get_job(session, job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        return None
    try:
        status = release(database, job, reason, end_runs_in_mlflow(settings))
    except Exception:  # noqa: BLE001 - the job stays running; its process is gone soon: reaped
        logger.warning("could not release job %s", job_id, exc_info=True)
        return None
    return None if status is None else str(status)


def _train_and_record(
    database: Database, request: TrainingRequest, attempt: int, settings: Settings
) -> str | None:
    job_id = request.job_id or ""
    reporter = _ProgressWriter(database, job_id, attempt=attempt)
    stop_check = _StopCheck(database, job_id, attempt)
    curves = reporter.curves  # every point so far, also in the row of a failed or cancelled job
    try:
        outcome = run_training(request, settings, on_progress=reporter, should_stop=stop_check)
    except TrainingCancelledError as error:
        if stop_check.superseded:
            logger.warning("job %s: attempt %s was given up for dead; stopped", job_id, attempt)
            return None
        message = error.message or "cancelled"
        return _finish(
            database, job_id, attempt, JobStatus.CANCELLED, message, curves=curves.to_row()
        )
    except CustomClassifierError as error:
        logger.warning("job %s failed: %s", job_id, error.message)
        return _finish(
            database,
            job_id,
            attempt,
            JobStatus.FAILED,
            error.message,
            error_code=error.code,
            error_message=error.message,
            result=JobResult(details=error.details).to_row(),
            curves=curves.to_row(),
        )
    except Exception as error:  # noqa: BLE001 - a job must end in a state, whatever happened
        logger.exception("job %s failed unexpectedly", job_id)
        message = f"training failed unexpectedly: {type(error).__name__}: {error}"
        return _finish(
            database,
            job_id,
            attempt,
            JobStatus.FAILED,
            message,
            error_code="training_failed",
            error_message=message,
            curves=curves.to_row(),
        )
    return _record_outcome(database, job_id, attempt, outcome, reporter)


def _predict_and_record(
    database: Database,
    job_id: str,
    request: BatchPredictionRequest,
    attempt: int,
    settings: Settings,
) -> str | None:
    """A batch prediction: the same claim, heartbeat, stop check and final states as a
    training; a failure keeps its error code."""
    reporter = BatchProgressWriter(database, job_id, attempt)
    stop_check = _StopCheck(database, job_id, attempt)
    try:
        result = run_batch_prediction(
            request, settings, job_id, on_progress=reporter, should_stop=stop_check
        )
    except TrainingCancelledError:
        if stop_check.superseded:
            logger.warning("job %s: attempt %s was given up for dead; stopped", job_id, attempt)
            return None
        progress = reporter.last.to_row()
        return _finish(
            database, job_id, attempt, JobStatus.CANCELLED, "cancelled", progress=progress
        )
    except CustomClassifierError as error:
        logger.warning("job %s failed: %s", job_id, error.message)
        failed = BatchJobResult(details=error.details).to_row()
        values = {"error_code": error.code, "error_message": error.message, "result": failed}
        return _finish(database, job_id, attempt, JobStatus.FAILED, error.message, **values)
    except Exception as error:  # noqa: BLE001 - a job must end in a state, whatever happened
        logger.exception("job %s failed unexpectedly", job_id)
        message = f"the batch prediction failed unexpectedly: {type(error).__name__}: {error}"
        values = {"error_code": "batch_prediction_failed", "error_message": message}
        return _finish(database, job_id, attempt, JobStatus.FAILED, message, **values)
    summary = result.summary
    message = (
        f"{summary.get('classified', 0)} classified, {summary.get('unreadable', 0)} unreadable"
    )
    return _finish(
        database,
        job_id,
        attempt,
        JobStatus.COMPLETED,
        message,
        result=result.to_row(),
        progress=reporter.finished().to_row(),
    )


def _record_outcome(
    database: Database,
    job_id: str,
    attempt: int,
    outcome: TrainingOutcome,
    reporter: _ProgressWriter,
) -> str:
    status = JobStatus.ACCEPTED if outcome.accepted else JobStatus.REJECTED
    registered = outcome.registered_model or {}
    last = reporter.last or JobProgress()
    return _finish(
        database,
        job_id,
        attempt,
        status,
        "; ".join(outcome.reasons) or None,
        run_id=outcome.run_id,
        metrics=outcome.metrics,
        result=outcome.job_result().to_row(),
        registered_name=registered.get("name"),
        registered_version=_as_int(registered.get("version")),
        progress=last.done().to_row(),
        curves=reporter.curves.to_row(),
    )


def _finish(
    database: Database,
    job_id: str,
    attempt: int,
    status: JobStatus,
    message: str | None,
    **values: Any,
) -> str:
    with database.session() as session:
        jobs.move(
            session,
            job_id,
            source=JobStatus.RUNNING,
            target=status,
            message=message,
            attempt=attempt,
            **values,
        )
    return str(status)


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


class _ProgressWriter:
    """Writes progress and the curves so far to the job row, at most once a second except for
    phase changes and epoch ends (the reports that carry validation scores). The curves keep
    every point however rarely the row is written, so any reader sees the whole of them."""

    def __init__(self, database: Database, job_id: str, *, attempt: int | None = None) -> None:
        self._database = database
        self._job_id = job_id
        self._attempt = attempt
        self._written_at = 0.0
        self._phase: str | None = None
        self.last: JobProgress | None = None
        self.curves = TrainingCurves()

    def __call__(self, progress: Progress) -> None:
        self.last = JobProgress.of(progress)
        self.curves.add(progress)
        now = time.monotonic()
        throttled = progress.phase == self._phase and progress.validation is None
        if throttled and now - self._written_at < PROGRESS_WRITE_SECONDS:
            return
        self._phase, self._written_at = progress.phase, now
        with self._database.session() as session:
            jobs.save_progress(
                session,
                self._job_id,
                self.last.to_row(),
                self.curves.to_row(),
                attempt=self._attempt,
            )


class _StopCheck:
    """`should_stop` for the trainer, at most once a second: the job was cancelled, or this
    attempt was given up for dead and the job re-queued (`superseded`)."""

    def __init__(self, database: Database, job_id: str, attempt: int) -> None:
        self._database = database
        self._job_id = job_id
        self._attempt = attempt
        self._checked_at = 0.0
        self._stop = False
        self.superseded = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._checked_at >= CANCEL_CHECK_SECONDS:
            self._checked_at = now
            with self._database.session() as session:
                self.superseded = not jobs.is_attempt_current(session, self._job_id, self._attempt)
                self._stop = self.superseded or jobs.is_cancel_requested(session, self._job_id)
        return self._stop
