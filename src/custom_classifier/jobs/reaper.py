"""The reaper: a thread of the service that settles running jobs whose worker is gone.

Heartbeats say which workers are alive; without a reaper, a worker that died after the
service started left its job `running` until the next restart. Each job queue runs one, on
every API replica (settling is a conditional update, so replicas racing for a job are safe).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from custom_classifier.config import Settings
from custom_classifier.jobs.recovery import RunEnder, end_runs_in_mlflow, release, worker_gone
from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.engine import Database
from custom_classifier.storage.tables import JobRecord

logger = logging.getLogger(__name__)

MAX_INTERVAL_SECONDS = 10.0


def reap_interval(heartbeat_seconds: float) -> float:
    """Seconds between rounds: one heartbeat (5 s by default), at most 10 s.

    A worker on the API's host that died is seen within a round (its process is gone); one
    elsewhere once it has been silent for `CC_JOB_STALE_AFTER_SECONDS` (60 s): settled within
    65 s with the defaults.
    """
    return max(0.2, min(MAX_INTERVAL_SECONDS, heartbeat_seconds))


class Reaper:
    """Ends the MLflow runs of jobs whose worker is gone, then re-queues or fails the jobs.

    `on_requeued(job_id)` schedules a re-queued job (Celery: sends it again); `before_release`
    lets the embedded runner stop a hung worker of its own first.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        on_requeued: Callable[[str], None],
        before_release: Callable[[JobRecord], None] | None = None,
        end_runs: RunEnder | None = None,
    ) -> None:
        self._database = database
        self._stale_after = settings.job_stale_after_seconds
        self._interval = reap_interval(settings.job_heartbeat_seconds)
        self._end_runs = end_runs or end_runs_in_mlflow(settings)
        self._on_requeued = on_requeued
        self._before_release = before_release
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # One settlement at a time in this process: the reaper's round and the embedded
        # runner's dispatcher (a worker exited) raced to end the same run, and MLflow's
        # SQLite store refused the second tag insert (UNIQUE constraint failed).
        self._settling = threading.Lock()

    def reap(self) -> list[str]:
        """One round: settle every running job whose worker is gone; returns their ids."""
        with self._database.session() as session:
            running = jobs.running_jobs(session)
        settled = []
        for job in running:
            reason = worker_gone(job, stale_after=self._stale_after)
            if reason is not None and self._try_settle(job, reason) is not None:
                settled.append(job.id)
        return settled

    def settle_if_gone(self, job_id: str) -> bool:
        """Settle one running job now if its worker is gone (a cancel need not wait a round)."""
        with self._database.session() as session:
            job = jobs.find_job(session, job_id)
        if job is None or job.status != JobStatus.RUNNING:
            return False
        reason = worker_gone(job, stale_after=self._stale_after)
        return reason is not None and self._try_settle(job, reason) is not None

    def settle(self, job: JobRecord, reason: str) -> JobStatus | None:
        """End the job's runs, then re-queue (and schedule), fail or cancel it."""
        with self._settling:
            if not self._still_running(job):
                return None
            if self._before_release is not None:
                self._before_release(job)
            status = release(self._database, job, reason, self._end_runs)
        if status == JobStatus.QUEUED:
            self._on_requeued(job.id)
        return status

    def _still_running(self, job: JobRecord) -> bool:
        """The job is still on the attempt `job` shows (another settlement did not move it)."""
        with self._database.session() as session:
            current = jobs.find_job(session, job.id)
        return (
            current is not None
            and current.status == JobStatus.RUNNING
            and current.attempts == job.attempts
        )

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="cc-job-reaper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _try_settle(self, job: JobRecord, reason: str) -> JobStatus | None:
        try:
            return self.settle(job, reason)
        except Exception:  # noqa: BLE001 - the job stays running; the next round tries again
            logger.warning("could not settle job %s (%s)", job.id, reason, exc_info=True)
            return None

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.reap()
            except Exception:  # noqa: BLE001 - the reaper must outlive a database hiccup
                logger.exception("job reaper round failed")
