"""The job queue interface the API and services see; embedded today, Celery later."""

from __future__ import annotations

from abc import ABC, abstractmethod

from custom_classifier.config import Settings
from custom_classifier.errors import ServiceUnavailableError
from custom_classifier.storage.engine import Database


class JobQueue(ABC):
    """Runs queued training jobs somewhere else than the caller's process.

    The job row in the metadata database is the source of truth: callers insert it as `queued`
    before `enqueue`, and mark it before `cancel`; a queue only moves work.
    """

    @abstractmethod
    def enqueue(self, job_id: str) -> None:
        """Schedule a job whose row is already `queued`."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Make a running job stop soon; its row already has `cancel_requested`."""

    @abstractmethod
    def start(self) -> None:
        """Recover jobs interrupted by a dead process, then begin running jobs."""

    @abstractmethod
    def stop(self) -> None:
        """Stop taking jobs; interrupted jobs are re-queued or failed with a reason."""

    @abstractmethod
    def ping(self) -> None:
        """Raise `ServiceUnavailableError` when the queue cannot run jobs."""


def make_job_queue(settings: Settings, database: Database) -> JobQueue:
    """The queue `CC_JOB_BACKEND` names."""
    if settings.job_backend == "embedded":
        from custom_classifier.jobs.embedded import EmbeddedJobQueue

        return EmbeddedJobQueue(settings, database)
    if settings.job_backend == "celery":
        from custom_classifier.jobs.celery_queue import CeleryJobQueue

        return CeleryJobQueue(settings, database)
    raise ServiceUnavailableError(
        f"CC_JOB_BACKEND={settings.job_backend!r} is not available yet; use 'embedded'",
        details={"job_backend": settings.job_backend},
    )
