"""After a restart, jobs whose worker died are re-queued once, then failed with a reason."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from custom_classifier.jobs.recovery import recover_interrupted_jobs
from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository
from custom_classifier.storage.clock import utcnow
from custom_classifier.storage.engine import Database

from .conftest import add_job


def _running(database: Database, tmp_path: Path, attempts: int, pid: int) -> str:
    return add_job(
        database,
        tmp_path,
        status=JobStatus.RUNNING,
        attempts=attempts,
        worker_host=socket.gethostname(),
        worker_pid=pid,
        heartbeat_at=utcnow(),
    )


def test_a_job_of_a_dead_worker_is_requeued_once_then_failed(
    database: Database, tmp_path: Path
) -> None:
    first = _running(database, tmp_path, attempts=1, pid=dead_pid())
    second = _running(database, tmp_path, attempts=2, pid=dead_pid())

    with database.session() as session:
        assert sorted(recover_interrupted_jobs(session)) == sorted([first, second])

    with database.session() as session:
        requeued = job_repository.get_job(session, first)
        failed = job_repository.get_job(session, second)
        assert requeued.status == JobStatus.QUEUED
        assert "re-queued" in requeued.history[-1]["message"]
        assert failed.status == JobStatus.FAILED
        assert failed.error_code == "interrupted"
        assert "not retried" in (failed.error_message or "")


def test_a_job_of_a_live_worker_is_left_running(database: Database, tmp_path: Path) -> None:
    with subprocess.Popen(["sleep", "30"]) as alive:
        job_id = _running(database, tmp_path, attempts=1, pid=alive.pid)
        with database.session() as session:
            assert recover_interrupted_jobs(session) == []
        alive.kill()
    with database.session() as session:
        assert job_repository.get_job(session, job_id).status == JobStatus.RUNNING


def dead_pid() -> int:
    """The id of a process that has exited."""
    finished = subprocess.run(["true"], check=True)
    del finished
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
