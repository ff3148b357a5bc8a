"""Queries on the jobs table. Owner checks live here, once, not in routes.

State changes are conditional updates (`WHERE status = ...`) so two processes racing for the
same job cannot both win: the loser's update touches no row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from custom_classifier.errors import JobNotFoundError
from custom_classifier.storage.clock import utcnow
from custom_classifier.storage.job_status import TERMINAL_STATUSES, JobKind, JobStatus
from custom_classifier.storage.tables import ClassifierRecord, JobRecord


def transition(status: JobStatus, message: str | None = None) -> dict[str, Any]:
    """One entry of a job's history."""
    return {"status": str(status), "at": utcnow().isoformat(), "message": message}


def add_job(session: Session, job: JobRecord) -> JobRecord:
    job.history = [transition(JobStatus(job.status), "submitted")]
    session.add(job)
    if job.kind in (None, JobKind.TRAINING):
        _remember_classifier(session, job.owner, job.name, job.id)
    session.flush()
    return job


def _remember_classifier(session: Session, owner: str, name: str, job_id: str) -> None:
    record = session.scalar(
        select(ClassifierRecord).where(
            ClassifierRecord.owner == owner, ClassifierRecord.name == name
        )
    )
    if record is None:
        session.add(ClassifierRecord(owner=owner, name=name, latest_job_id=job_id))
    else:
        record.latest_job_id = job_id


def find_job(
    session: Session, job_id: str, *, owner: str | None = None, kind: JobKind | None = None
) -> JobRecord | None:
    """The job, or None when it does not exist, belongs to someone else or is of another
    `kind`."""
    job = session.get(JobRecord, job_id)
    if job is None or (owner is not None and job.owner != owner):
        return None
    if kind is not None and job.kind != kind:
        return None
    return job


_LISTING = {JobKind.TRAINING: "/api/v1/jobs", JobKind.BATCH_PREDICTION: "/api/v1/predictions"}


def get_job(
    session: Session, job_id: str, *, owner: str | None = None, kind: JobKind | None = None
) -> JobRecord:
    job = find_job(session, job_id, owner=owner, kind=kind)
    if job is None:
        listing = _LISTING[kind or JobKind.TRAINING]
        raise JobNotFoundError(
            f"no job {job_id!r}; list your jobs with GET {listing}", details={"job_id": job_id}
        )
    return job


def list_jobs(
    session: Session,
    owner: str,
    *,
    status: JobStatus | None = None,
    limit: int = 100,
    kind: JobKind = JobKind.TRAINING,
) -> list[JobRecord]:
    query = select(JobRecord).where(JobRecord.owner == owner, JobRecord.kind == kind)
    if status is not None:
        query = query.where(JobRecord.status == status)
    return list(session.scalars(query.order_by(JobRecord.created_at.desc()).limit(limit)))


def queued_job_ids(session: Session, *, limit: int, exclude: set[str]) -> list[str]:
    """The oldest queued jobs first."""
    query = select(JobRecord.id).where(JobRecord.status == JobStatus.QUEUED)
    if exclude:
        query = query.where(JobRecord.id.not_in(exclude))
    return list(session.scalars(query.order_by(JobRecord.created_at).limit(limit)))


def running_jobs(session: Session) -> list[JobRecord]:
    return list(session.scalars(select(JobRecord).where(JobRecord.status == JobStatus.RUNNING)))


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(JobRecord.status, func.count()).group_by(JobRecord.status))
    counts = {str(status): 0 for status in JobStatus}
    counts.update({status: count for status, count in rows.tuples()})
    return counts


def claim(session: Session, job_id: str, *, host: str, pid: int) -> bool:
    """Move a queued job to running for this worker; False when it is not queued any more."""
    now = utcnow()
    result = session.execute(
        update(JobRecord)
        .where(
            JobRecord.id == job_id,
            JobRecord.status == JobStatus.QUEUED,
            JobRecord.cancel_requested.is_(False),
        )
        .values(
            status=JobStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            attempts=JobRecord.attempts + 1,
            worker_host=host,
            worker_pid=pid,
            error_code=None,
            error_message=None,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = _rowcount(result) == 1
    if claimed:
        append_history(session, job_id, transition(JobStatus.RUNNING, f"started by {host}:{pid}"))
    return claimed


def move(
    session: Session,
    job_id: str,
    *,
    source: JobStatus,
    target: JobStatus,
    message: str | None = None,
    attempt: int | None = None,
    **values: Any,
) -> bool:
    """Move a job from `source` to `target` and record the transition; False if it was not there.

    With `attempt`, only while the job is still on that attempt: a worker given up for dead
    must not move the job its next attempt is running.
    """
    if target in TERMINAL_STATUSES:
        values.setdefault("finished_at", utcnow())
    result = session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == source, *_on_attempt(attempt))
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    moved = _rowcount(result) == 1
    if moved:
        append_history(session, job_id, transition(target, message))
    return moved


def append_history(session: Session, job_id: str, entry: dict[str, Any]) -> None:
    history = session.scalar(select(JobRecord.history).where(JobRecord.id == job_id)) or []
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id)
        .values(history=[*history, entry])
        .execution_options(synchronize_session=False)
    )


def save_progress(
    session: Session,
    job_id: str,
    progress: dict[str, Any],
    curves: dict[str, Any] | None = None,
    *,
    attempt: int | None = None,
) -> None:
    """The latest progress report and the curves so far (a training's), of a running job."""
    values: dict[str, Any] = {"progress": progress, "heartbeat_at": utcnow()}
    if curves is not None:
        values["curves"] = curves
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == JobStatus.RUNNING, *_on_attempt(attempt))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def beat(session: Session, job_id: str, *, attempt: int | None = None) -> None:
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == JobStatus.RUNNING, *_on_attempt(attempt))
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def request_cancel(session: Session, job_id: str) -> None:
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id)
        .values(cancel_requested=True)
        .execution_options(synchronize_session=False)
    )


def is_cancel_requested(session: Session, job_id: str) -> bool:
    return bool(session.scalar(select(JobRecord.cancel_requested).where(JobRecord.id == job_id)))


def is_attempt_current(session: Session, job_id: str, attempt: int) -> bool:
    """False once the job left this attempt: ended, or re-queued after it was taken for dead."""
    row = session.execute(
        select(JobRecord.status, JobRecord.attempts).where(JobRecord.id == job_id)
    ).first()
    return row is not None and row.status == JobStatus.RUNNING and row.attempts == attempt


def _on_attempt(attempt: int | None) -> list[Any]:
    return [] if attempt is None else [JobRecord.attempts == attempt]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
