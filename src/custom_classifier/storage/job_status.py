"""The kinds of jobs and the states a job goes through: the values of the jobs table's `status` column.

A leaf module: storage queries by it, and `jobs`, `services` and the faces read it (also as
`custom_classifier.jobs.status`)."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    """A batch prediction classified every document (a training ends accepted or rejected)."""


TERMINAL_STATUSES = frozenset(
    {
        JobStatus.ACCEPTED,
        JobStatus.REJECTED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.COMPLETED,
    }
)


class JobKind(StrEnum):
    """What a job does: the values of the jobs table's `kind` column."""

    TRAINING = "training"
    BATCH_PREDICTION = "batch_prediction"
