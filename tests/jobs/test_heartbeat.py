"""The heartbeat runs in a process of its own: it beats while the training process cannot
(frozen here with SIGSTOP, as native code holding the GIL freezes every thread), and it ends
with the block or with the training process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository
from custom_classifier.storage.engine import Database

from .conftest import add_job

TRAINING = """
import sys, time
from custom_classifier.jobs.heartbeat import Heartbeat
with Heartbeat(sys.argv[1], sys.argv[2], 1, 0.2) as heartbeat:
    print(heartbeat._process.pid, flush=True)
    time.sleep(600)
"""


@contextmanager
def training_process(database: Database, job_id: str) -> Iterator[tuple[int, int]]:
    """A process that beats for the job; yields its pid and its heartbeat's pid."""
    url = str(database.engine.url)
    process = subprocess.Popen(
        [sys.executable, "-c", TRAINING, url, job_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.pid, int(process.stdout.readline())
    finally:
        process.kill()
        process.wait()


def heartbeat_at(database: Database, job_id: str) -> datetime | None:
    with database.session() as session:
        return job_repository.get_job(session, job_id).heartbeat_at


def eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def beats(database: Database, job_id: str, times: int) -> None:
    """Wait until the job's heartbeat time has changed `times` times."""
    seen = {heartbeat_at(database, job_id)}

    def counted() -> bool:
        seen.add(heartbeat_at(database, job_id))
        return len(seen) > times

    eventually(counted, f"fewer than {times} heartbeats")


def running_job(database: Database, tmp_path: Path) -> str:
    return add_job(database, tmp_path, status=JobStatus.RUNNING, attempts=1)


def test_the_job_is_marked_alive_while_its_training_process_is_frozen(
    database: Database, tmp_path: Path
) -> None:
    job_id = running_job(database, tmp_path)
    with training_process(database, job_id) as (training, _):
        os.kill(training, signal.SIGSTOP)
        try:
            beats(database, job_id, times=2)
        finally:
            os.kill(training, signal.SIGCONT)


def test_the_heartbeat_ends_with_its_training_process(database: Database, tmp_path: Path) -> None:
    job_id = running_job(database, tmp_path)
    with training_process(database, job_id) as (training, heartbeat):
        beats(database, job_id, times=1)
        os.kill(training, signal.SIGKILL)
        eventually(lambda: not alive(heartbeat), "the heartbeat outlived its training")


def test_the_heartbeat_ends_with_the_block(database: Database, tmp_path: Path) -> None:
    from custom_classifier.jobs.heartbeat import Heartbeat

    job_id = running_job(database, tmp_path)
    with Heartbeat(str(database.engine.url), job_id, 1, 0.2) as heartbeat:
        beats(database, job_id, times=1)
    assert heartbeat._process is not None and heartbeat._process.poll() == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].splitlines()[0].lower()
    except (OSError, IndexError):
        return "zombie"
