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


def test_epoch_end_reports_are_saved_even_within_the_write_interval(
    database: Database, tmp_path: Path
) -> None:
    from custom_classifier.jobs.tasks import _ProgressWriter
    from custom_classifier.training.arguments import Progress

    job_id = add_job(database, tmp_path, status=JobStatus.RUNNING)
    write = _ProgressWriter(database, job_id)
    write(Progress(step=1, total_steps=4, epoch=0.5, loss=0.9))
    write(Progress(step=2, total_steps=4, epoch=1.0, loss=0.8, validation={"macro_f1": 0.7}))
    write(Progress(step=3, total_steps=4, epoch=1.5, loss=0.7))  # throttled

    with database.session() as session:
        saved = job_repository.get_job(session, job_id).progress
    assert (saved["step"], saved["validation"]) == (2, {"macro_f1": 0.7})


def test_the_curves_in_the_row_keep_the_points_of_throttled_reports(
    database: Database, tmp_path: Path
) -> None:
    from custom_classifier.jobs.tasks import _ProgressWriter
    from custom_classifier.training.arguments import Progress

    job_id = add_job(database, tmp_path, status=JobStatus.RUNNING)
    write = _ProgressWriter(database, job_id)
    write(Progress(step=1, total_steps=4, epoch=0.5, loss=0.9))
    write(Progress(step=2, total_steps=4, epoch=1.0, loss=0.8))  # throttled: not written
    write(Progress(step=2, total_steps=4, epoch=1.0, validation={"macro_f1": 0.7, "accuracy": 0.8}))

    with database.session() as session:
        curves = job_repository.get_job(session, job_id).curves
    assert curves is not None
    assert [(p["x"], p["y"], p["step"]) for p in curves["loss"]] == [(0.5, 0.9, 1), (1.0, 0.8, 2)]
    assert curves["validation"] == [{"x": 1.0, "macro_f1": 0.7, "accuracy": 0.8}]
