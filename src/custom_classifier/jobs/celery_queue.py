"""`CeleryJobQueue`: the API's side of the Celery workers. Sends job ids; imports no torch."""

from __future__ import annotations

import logging

from custom_classifier.config import Settings
from custom_classifier.errors import ServiceUnavailableError
from custom_classifier.jobs.celery_app import QUEUE, TASK_NAME, make_celery_app
from custom_classifier.jobs.queue import JobQueue
from custom_classifier.jobs.reaper import Reaper
from custom_classifier.storage.engine import Database

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 3.0


class CeleryJobQueue(JobQueue):
    """Jobs run on `custom-classifier worker` processes, on this machine or others."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self._settings = settings
        self._database = database
        self._app = make_celery_app(settings)
        self._reaper = Reaper(database, settings, on_requeued=self._send_again)

    def enqueue(self, job_id: str) -> None:
        """Send the job id; the message id is the job id, so `cancel` can revoke it."""
        try:
            self._app.send_task(TASK_NAME, args=[job_id], task_id=job_id, queue=QUEUE)
        except Exception as error:  # kombu raises its own, transport-specific errors
            raise self._unavailable(error) from error

    def cancel(self, job_id: str) -> None:
        """The job row already says `cancel_requested`; the training polls it every second.

        A job whose worker is gone ends at once. The revoke drops a message that no worker has
        started yet. It does not terminate a running training: a killed process could not
        record that it stopped.
        """
        if self._reaper.settle_if_gone(job_id):
            return
        try:
            self._app.control.revoke(job_id)
        except Exception:  # noqa: BLE001 - the database flag alone still cancels the job
            logger.warning("could not broadcast the revoke of job %s", job_id, exc_info=True)

    def start(self) -> None:
        """Settle jobs whose worker died (re-sending them), now and every few seconds."""
        self._reaper.reap()
        self._reaper.start()

    def stop(self) -> None:
        self._reaper.stop()
        self._app.close()

    def _send_again(self, job_id: str) -> None:
        """A dead worker's message comes back only after the visibility timeout (Redis): send
        the job now. Whichever delivery comes first claims it; the other finds it taken."""
        logger.warning("job %s was interrupted; sending it again", job_id)
        self.enqueue(job_id)

    def ping(self) -> None:
        """Raise `ServiceUnavailableError` when the broker cannot be reached."""
        try:
            with self._app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        except Exception as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: Exception) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"the job broker at {self._safe_broker_url()} is not reachable "
            f"({type(error).__name__}: {error}); check CC_BROKER_URL and that the broker runs",
            details={"broker": self._safe_broker_url()},
        )

    def _safe_broker_url(self) -> str:
        return str(self._app.connection_for_write().as_uri(include_password=False))
