"""What happens to a job whose worker is gone: its MLflow runs end, then it is re-queued once,
then failed with a reason (or cancelled, when that had been asked)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

from sqlalchemy.orm import Session

from custom_classifier.config import Settings
from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.clock import as_utc, utcnow
from custom_classifier.storage.engine import Database
from custom_classifier.storage.tables import JobRecord

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
"""A job interrupted on its first attempt runs once more; after that it fails."""
STOPPED = "the worker running this job stopped"

RunEnder = Callable[[JobRecord, str], None]
"""Ends the MLflow runs a job's gone worker left open, with the reason; raises when it cannot."""


def requeue_or_fail(session: Session, job: JobRecord, reason: str) -> JobStatus | None:
    """Put an interrupted running job back in the queue, fail it when it ran out of attempts, or
    cancel it when that had been asked. None when the job had already left this attempt."""
    if job.attempts < MAX_ATTEMPTS and not job.cancel_requested:
        target = JobStatus.QUEUED
        message = f"{reason}; re-queued (attempt {job.attempts + 1} of {MAX_ATTEMPTS})"
        values: dict[str, object] = {"worker_pid": None, "progress": None}
    elif job.cancel_requested:
        target, message = JobStatus.CANCELLED, f"{reason}; it had been cancelled"
        values = {}
    else:
        target = JobStatus.FAILED
        message = f"{reason}; it was interrupted {job.attempts} times, so it is not retried"
        values = {"error_code": "interrupted", "error_message": message}
    moved = jobs.move(
        session,
        job.id,
        source=JobStatus.RUNNING,
        target=target,
        message=message,
        attempt=job.attempts,
        **values,
    )
    if not moved:
        return None
    logger.warning("job %s: %s", job.id, message)
    return target


def worker_gone(job: JobRecord, *, stale_after: float, host: str | None = None) -> str | None:
    """Why the job's worker is taken for dead: its process on this host has exited, or it has
    not marked the job alive for `stale_after` seconds (any host). None while it looks alive."""
    host = host or socket.gethostname()
    if job.worker_host == host and job.worker_pid is not None and not _pid_alive(job.worker_pid):
        return f"{STOPPED} (its process {job.worker_pid} on {host} has exited)"
    beat = as_utc(job.heartbeat_at or job.started_at)
    if beat is None:
        return f"{STOPPED} (it never marked the job alive)"
    silent = (utcnow() - beat).total_seconds()
    if silent > stale_after:
        return f"{STOPPED} (no heartbeat from {job.worker_host} for {silent:.0f} s)"
    return None


def is_worker_dead(job: JobRecord, *, stale_after: float, host: str | None = None) -> bool:
    return worker_gone(job, stale_after=stale_after, host=host) is not None


def end_runs_in_mlflow(settings: Settings) -> RunEnder:
    """The `RunEnder` of the service: KILLED, with the reason as a tag (imports mlflow lazily)."""

    def end_runs(job: JobRecord, reason: str) -> None:
        from custom_classifier.registry.interrupted import end_interrupted_runs

        end_interrupted_runs(settings, job.owner, job.id, reason, cancelled=job.cancel_requested)

    return end_runs


def release(
    database: Database, job: JobRecord, reason: str, end_runs: RunEnder
) -> JobStatus | None:
    """End the MLflow runs of a job whose worker is gone, then re-queue, fail or cancel it.

    Runs first: once re-queued, the job's next attempt may start a run, which must stay open.
    When the runs cannot be ended (MLflow unreachable) this raises and the job stays `running`,
    so the next round of the reaper tries again: no run is left RUNNING behind an ended job.
    """
    end_runs(job, reason)
    with database.session() as session:
        return requeue_or_fail(session, job, reason)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
