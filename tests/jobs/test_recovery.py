"""The reaper: jobs whose worker is gone get their runs ended, then are re-queued once, then
failed with a reason; a job whose worker is alive is left running."""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from custom_classifier.config import Settings
from custom_classifier.jobs.reaper import Reaper, reap_interval
from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository
from custom_classifier.storage.clock import utcnow
from custom_classifier.storage.engine import Database
from custom_classifier.storage.tables import JobRecord

from .conftest import add_job


class RunsEnded:
    """A `RunEnder` that records which jobs it was asked for, and in which state they were."""

    def __init__(self, database: Database, *, fails: bool = False) -> None:
        self.database = database
        self.fails = fails
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, job: JobRecord, reason: str) -> None:
        with self.database.session() as session:
            status = job_repository.get_job(session, job.id).status
        self.calls.append((job.id, status, reason))
        if self.fails:
            raise ConnectionError("MLflow is not reachable")


def reaper_for(
    database: Database, settings: Settings, ended: RunsEnded, requeued: list[str]
) -> Reaper:
    return Reaper(database, settings, on_requeued=requeued.append, end_runs=ended)


def _running(database: Database, tmp_path: Path, attempts: int, pid: int, **values: object) -> str:
    values = {"worker_host": socket.gethostname(), "heartbeat_at": utcnow(), **values}
    return add_job(
        database, tmp_path, status=JobStatus.RUNNING, attempts=attempts, worker_pid=pid, **values
    )


def test_a_job_of_a_dead_worker_is_requeued_once_then_failed(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    first = _running(database, tmp_path, attempts=1, pid=dead_pid())
    second = _running(database, tmp_path, attempts=2, pid=dead_pid())
    ended, requeued = RunsEnded(database), []

    assert sorted(reaper_for(database, job_settings, ended, requeued).reap()) == sorted(
        [first, second]
    )

    with database.session() as session:
        again = job_repository.get_job(session, first)
        failed = job_repository.get_job(session, second)
    assert again.status == JobStatus.QUEUED and requeued == [first]
    assert "re-queued (attempt 2 of 2)" in again.history[-1]["message"]
    assert "has exited" in again.history[-1]["message"]
    assert failed.status == JobStatus.FAILED
    assert failed.error_code == "interrupted"
    assert "not retried" in (failed.error_message or "")
    # The runs end while the job still reads running: its next attempt's run must stay open.
    assert sorted((job, status) for job, status, _ in ended.calls) == sorted(
        [(first, "running"), (second, "running")]
    )


def test_a_job_of_a_live_worker_is_left_running(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    ended, requeued = RunsEnded(database), []
    with subprocess.Popen(["sleep", "30"]) as alive:
        job_id = _running(database, tmp_path, attempts=1, pid=alive.pid)
        assert reaper_for(database, job_settings, ended, requeued).reap() == []
        alive.kill()
    with database.session() as session:
        assert job_repository.get_job(session, job_id).status == JobStatus.RUNNING
    assert ended.calls == [] and requeued == []


def test_a_silent_worker_on_another_host_is_given_up_after_the_staleness(
    database: Database, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", job_stale_after_seconds=30)
    beating = _running(database, tmp_path, 1, pid=1, worker_host="gpu-1", heartbeat_at=utcnow())
    silent = _running(
        database,
        tmp_path,
        1,
        pid=1,
        worker_host="gpu-2",
        heartbeat_at=utcnow() - timedelta(seconds=43),
    )
    ended, requeued = RunsEnded(database), []

    assert reaper_for(database, settings, ended, requeued).reap() == [silent]
    assert "no heartbeat from gpu-2" in ended.calls[0][2]
    with database.session() as session:
        assert job_repository.get_job(session, beating).status == JobStatus.RUNNING


def test_a_job_whose_runs_cannot_be_ended_stays_running_until_they_can(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    job_id = _running(database, tmp_path, attempts=1, pid=dead_pid())
    unreachable, requeued = RunsEnded(database, fails=True), []

    assert reaper_for(database, job_settings, unreachable, requeued).reap() == []
    with database.session() as session:
        assert job_repository.get_job(session, job_id).status == JobStatus.RUNNING

    reachable = RunsEnded(database)
    assert reaper_for(database, job_settings, reachable, requeued).reap() == [job_id]
    assert requeued == [job_id]


def test_a_cancelled_job_whose_worker_is_gone_ends_cancelled(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    job_id = _running(database, tmp_path, attempts=1, pid=dead_pid(), cancel_requested=True)
    ended, requeued = RunsEnded(database), []

    assert reaper_for(database, job_settings, ended, requeued).settle_if_gone(job_id)

    with database.session() as session:
        assert job_repository.get_job(session, job_id).status == JobStatus.CANCELLED
    assert requeued == []


def test_a_job_that_moved_on_is_not_settled_twice(
    database: Database, job_settings: Settings, tmp_path: Path
) -> None:
    """Two replicas' reapers race: the second finds the job on another attempt."""
    job_id = _running(database, tmp_path, attempts=1, pid=dead_pid())
    with database.session() as session:
        stale_view = job_repository.get_job(session, job_id)
    reaper = reaper_for(database, job_settings, RunsEnded(database), [])
    assert reaper.settle(stale_view, "first") == JobStatus.QUEUED
    with database.session() as session:
        assert job_repository.claim(session, job_id, host="other", pid=1)

    assert reaper.settle(stale_view, "second") is None
    with database.session() as session:
        job = job_repository.get_job(session, job_id)
    assert (job.status, job.attempts, job.worker_host) == (JobStatus.RUNNING, 2, "other")


def test_the_staleness_must_cover_several_heartbeats() -> None:
    with pytest.raises(ValueError, match="CC_JOB_STALE_AFTER_SECONDS"):
        Settings(job_heartbeat_seconds=5, job_stale_after_seconds=10)


def test_with_the_defaults_a_silent_job_is_settled_within_about_a_minute() -> None:
    settings = Settings()
    worst = settings.job_stale_after_seconds + reap_interval(settings.job_heartbeat_seconds)
    assert worst <= 65


def dead_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
