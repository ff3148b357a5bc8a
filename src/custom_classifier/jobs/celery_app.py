"""The Celery application of the training workers, and its one task.

Messages carry a job id only; the job row is the source of truth. Late acknowledgement with a
prefetch of one means a worker that dies mid-training leaves its message unacknowledged, so the
broker delivers it again (RabbitMQ: when the connection drops; Redis: after the visibility
timeout) and `prepare_delivery` decides what the new delivery does with the job.

Importing this module does not import torch: the API builds the same app to send messages.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from celery import Celery, Task

from custom_classifier.config import DEFAULT_JOB_STALE_AFTER_SECONDS, Settings, get_settings
from custom_classifier.jobs.recovery import RunEnder, end_runs_in_mlflow, release, worker_gone
from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.engine import Database

logger = logging.getLogger(__name__)

TASK_NAME = "custom_classifier.train"
QUEUE = "training"
BUSY_RETRY_SECONDS = 30
"""How soon a delivery that found its job running on a live worker looks again."""
WARM_UP_SECONDS_ALLOWED = 600.0
"""How long a warming-up worker process may take to start (Celery kills one that has not
started after `worker_proc_alive_timeout`, 4 s by default)."""


def make_celery_app(settings: Settings) -> Celery:
    """The app for `settings.broker_url` (redis:// or amqp://), with the training task."""
    app = Celery("custom_classifier", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # Redis only: an unacknowledged message is delivered again after this long. A job
        # still running then is recognised by its heartbeat and left alone (see below).
        broker_transport_options=_transport_options(settings.broker_visibility_timeout),
        # A broker hiccup must not abort a training: its next delivery finds it running.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
    )
    # No retry limit on the task itself: `Task.retry(max_retries=None)` means "the task's
    # default" (3), not "unlimited", so a duplicate delivery waiting on a live worker gave up
    # after three looks and was acknowledged; the worker dying after that left no message.
    app.task(
        name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None
    )(train)
    return app


def warm_up_each_process(app: Celery, settings: Settings) -> None:
    """Each prefork child of `app`'s worker warms up (`jobs.warm_worker`) as it starts, before
    it takes a task; in the child, so that the CUDA context is not created before a fork."""
    from celery.signals import worker_process_init

    from custom_classifier.jobs.warm_worker import warm_up_worker

    def warm_up(**_signal: object) -> None:
        warm_up_worker(settings)

    app.conf.worker_proc_alive_timeout = WARM_UP_SECONDS_ALLOWED
    worker_process_init.connect(warm_up, weak=False)


def _transport_options(visibility_timeout: int) -> dict[str, int]:
    """Redis: a dead worker's message comes back within about 1.25 visibility timeouts.

    kombu looks for expired messages every `interval * throttle` seconds (100 by default).
    """
    interval = max(1, min(10, visibility_timeout // 4))
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": 1,
    }


class Delivery(StrEnum):
    """What a delivered message does with its job."""

    RUN = "run"
    SKIP = "skip"
    WAIT = "wait"


def train(task: Task, job_id: str) -> str | None:
    """Run the training job `job_id`; safe to deliver any number of times."""
    settings = get_settings()
    database = Database.connect(settings.resolved_database_url)
    try:
        delivery = prepare_delivery(
            database,
            job_id,
            stale_after=settings.job_stale_after_seconds,
            end_runs=end_runs_in_mlflow(settings),
        )
    finally:
        database.dispose()
    if delivery is Delivery.WAIT:
        raise task.retry(countdown=BUSY_RETRY_SECONDS)
    if delivery is Delivery.SKIP:
        return None
    from custom_classifier.jobs.tasks import execute_job

    return execute_job(job_id, settings)


def prepare_delivery(
    database: Database,
    job_id: str,
    *,
    stale_after: float = DEFAULT_JOB_STALE_AFTER_SECONDS,
    end_runs: RunEnder | None = None,
) -> Delivery:
    """Decide, and record, what a delivery of `job_id` does.

    A `running` job whose worker is dead (its process is gone, or it stopped beating) was
    interrupted: `end_runs` ends the MLflow run the dead worker left open, then the job is
    re-queued, or failed once it ran out of attempts. A running job whose worker is alive is a
    duplicate delivery; it is looked at again later, until it ends (so is a job whose runs
    cannot be ended yet).
    """
    with database.session() as session:
        job = jobs.find_job(session, job_id)
    if job is None:
        logger.warning("job %s does not exist; dropping its message", job_id)
        return Delivery.SKIP
    if job.status == JobStatus.QUEUED:
        return Delivery.RUN
    if job.status != JobStatus.RUNNING:
        return Delivery.SKIP
    reason = worker_gone(job, stale_after=stale_after)
    if reason is None:
        return Delivery.WAIT
    try:
        release(database, job, reason, end_runs or _no_runs)
    except Exception:  # noqa: BLE001 - MLflow unreachable: the job stays running; look again
        logger.warning("could not release job %s", job_id, exc_info=True)
        return Delivery.WAIT
    with database.session() as session:
        status = jobs.get_job(session, job_id).status
    return Delivery.RUN if status == JobStatus.QUEUED else Delivery.SKIP


def _no_runs(_job: object, _reason: str) -> None:
    """Ends no run: for callers without an MLflow store."""


def worker_arguments(
    *, concurrency: int, loglevel: str, hostname: str | None, extra: list[str] | None = None
) -> list[str]:
    """`celery worker` arguments: one prefork child per concurrent training."""
    arguments = [
        "worker",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        f"--queues={QUEUE}",
        f"--loglevel={loglevel}",
        "--without-gossip",
    ]
    if hostname:
        arguments.append(f"--hostname={hostname}")
    return [*arguments, *(extra or [])]
