"""The job queue interface the API and services see. Its implementations: `embedded`
(training processes started by the API process) and `celery_queue` (workers on a broker); the
runtime picks one (`services.runtime.make_job_queue`)."""

from __future__ import annotations

from abc import ABC, abstractmethod


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
