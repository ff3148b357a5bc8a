"""What happens to a job whose worker died: re-queued once, then failed with a reason."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from sqlalchemy.orm import Session

from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.clock import as_utc, utcnow
from custom_classifier.storage.tables import JobRecord

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
"""A job interrupted on its first attempt runs once more; after that it fails."""
STALE_AFTER = timedelta(seconds=60)
"""A running job whose worker has not beaten for this long is considered dead (any host)."""


def requeue_or_fail(session: Session, job: JobRecord, reason: str) -> JobStatus:
    """Put an interrupted running job back in the queue, or fail it when it ran out of attempts."""
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
    jobs.move(session, job.id, source=JobStatus.RUNNING, target=target, message=message, **values)
    logger.warning("job %s: %s", job.id, message)
    return target


def is_worker_dead(job: JobRecord, *, host: str | None = None) -> bool:
    """True when the job's worker process is gone (same host) or silent for too long."""
    host = host or socket.gethostname()
    if job.worker_host == host and job.worker_pid is not None and not _pid_alive(job.worker_pid):
        return True
    beat = as_utc(job.heartbeat_at or job.started_at)
    return beat is None or utcnow() - beat > STALE_AFTER


def recover_interrupted_jobs(session: Session) -> list[str]:
    """On start: re-queue or fail every running job whose worker is dead. Returns their ids."""
    recovered = []
    for job in jobs.running_jobs(session):
        if is_worker_dead(job):
            requeue_or_fail(session, job, "the worker running this job stopped")
            recovered.append(job.id)
    return recovered


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
