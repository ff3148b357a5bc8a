"""The states a training job goes through; a leaf module shared by storage, jobs and services."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset(
    {JobStatus.ACCEPTED, JobStatus.REJECTED, JobStatus.FAILED, JobStatus.CANCELLED}
)
