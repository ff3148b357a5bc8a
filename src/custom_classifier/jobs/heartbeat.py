"""The heartbeat of a running job: a small process of its own that marks the job alive every
few seconds for as long as the training process that started it lives.

Not a thread of the training process: native code that holds the GIL silences every other
thread. The ONNX export of a 2-layer model held it for 9 s at a time on a busy 2-core machine
(15 s in all); the reaper took the live training for dead (`CC_JOB_STALE_AFTER_SECONDS`) and
stopped it just before it registered its model. A larger model exports for minutes.

The training process writes the job to the heartbeat's stdin and keeps the pipe open; the
heartbeat stops at end of file: when the training closes the pipe, or dies (the kernel closes
it), so a heartbeat never outlives its training. A thread beats too: the process takes seconds
to start on a busy machine (8-11 s to import at load 12 on 2 cores), the thread none.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
from typing import IO

from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.engine import Database

logger = logging.getLogger(__name__)

STOP_SECONDS = 10.0
"""How long the heartbeat may take to exit once its pipe is closed, before it is killed."""


class Heartbeat:
    """`with Heartbeat(url, job_id, attempt, seconds):` beats while the block runs."""

    def __init__(self, database_url: str, job_id: str, attempt: int, seconds: float) -> None:
        self._database_url, self._job_id, self._attempt = database_url, job_id, attempt
        self._seconds = seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        # The database URL may hold a password: on the pipe, not the command line.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "custom_classifier.jobs.heartbeat"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        stdin = self._stdin()
        job: dict[str, object] = {"database_url": self._database_url, "job_id": self._job_id}
        job |= {"attempt": self._attempt, "seconds": self._seconds}
        stdin.write(json.dumps(job).encode() + b"\n")
        stdin.flush()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=STOP_SECONDS)
        if self._process is None:
            return
        self._stdin().close()
        try:
            self._process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _beat(self) -> None:
        database = Database.connect(self._database_url)
        try:
            while not self._done.wait(self._seconds):
                _beat(database, self._job_id, self._attempt)
        finally:
            database.dispose()

    def _stdin(self) -> IO[bytes]:
        assert self._process is not None and self._process.stdin is not None
        return self._process.stdin


def main() -> int:
    job = json.loads(sys.stdin.buffer.readline())
    database = Database.connect(job["database_url"])
    try:
        while not _closed(job["seconds"]):
            _beat(database, job["job_id"], job["attempt"])
    finally:
        database.dispose()
    return 0


def _closed(timeout: float) -> bool:
    """Wait up to `timeout` seconds for the end of stdin; True once it came."""
    readable, _, _ = select.select([sys.stdin.buffer], [], [], timeout)
    return bool(readable) and not os.read(sys.stdin.fileno(), 1024)


def _beat(database: Database, job_id: str, attempt: int) -> None:
    try:
        with database.session() as session:
            jobs.beat(session, job_id, attempt=attempt)
    except Exception:  # noqa: BLE001 - a missed beat must not end the heartbeat
        logger.warning("heartbeat of job %s failed", job_id, exc_info=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
