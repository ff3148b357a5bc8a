"""`execute_job` takes an id, is idempotent and ends every job it claims in a final state."""

from __future__ import annotations

import time
from pathlib import Path

from custom_classifier.config import Settings
from custom_classifier.jobs.embedded import EmbeddedJobQueue
from custom_classifier.jobs.status import TERMINAL_STATUSES, JobStatus
from custom_classifier.jobs.tasks import execute_job
from custom_classifier.storage import job_repository
from custom_classifier.storage.engine import Database
from factories import make_topic_folder

from .conftest import add_job


def test_a_job_that_is_not_queued_is_left_alone(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    job_id = add_job(database, tmp_path, status=JobStatus.ACCEPTED)

    assert execute_job(job_id, job_settings) is None
    with database.session() as session:
        assert job_repository.get_job(session, job_id).status == JobStatus.ACCEPTED


def test_invalid_data_fails_the_job_with_its_code(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    folder = make_topic_folder(tmp_path, {"sport": 2, "finance": 2})  # fewer than 5 per label
    job_id = add_job(database, folder)

    assert execute_job(job_id, job_settings) == "failed"
    with database.session() as session:
        job = job_repository.get_job(session, job_id)
        assert (job.error_code, job.attempts) == ("invalid_dataset", 1)
        assert [h["status"] for h in job.history] == ["queued", "running", "failed"]
    assert execute_job(job_id, job_settings) is None  # a second delivery changes nothing


def test_the_embedded_queue_runs_jobs_in_a_worker_process(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    job_id = add_job(database, make_topic_folder(tmp_path, {"sport": 1, "finance": 1}))
    queue = EmbeddedJobQueue(job_settings, database)
    queue.start()
    try:
        queue.enqueue(job_id)
        job = _wait_until_done(database, job_id)
    finally:
        queue.stop()

    assert job.status == JobStatus.FAILED
    assert job.worker_pid is not None and job.worker_pid != __import__("os").getpid()
    assert (job_settings.resolved_home / "logs" / "jobs" / f"{job_id}.log").is_file()


def _wait_until_done(database: Database, job_id: str, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.session() as session:
            job = job_repository.get_job(session, job_id)
            if job.status in TERMINAL_STATUSES:
                return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")
