"""The embedded job runner: the queue is the jobs table; each training runs in its own process.

A dispatcher thread in the API process starts `python -m custom_classifier.jobs.embedded_worker`
for the oldest queued jobs, at most `CC_EMBEDDED_WORKERS` at a time, and watches them exit.
The worker claims the job itself (queued -> running), so two API processes cannot both run it.

A worker stops with the server that started it, even one killed without a chance to stop it:
the worker watches its parent and, once it is gone, ends its MLflow run KILLED and re-queues its
job (see `embedded_worker`). A worker that outlived its server unseen would be a process nobody
watches, counts against `CC_EMBEDDED_WORKERS` or can stop; the restarted server runs the job
again instead. A reaper settles jobs whose worker died (see `reaper`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from typing import IO

from pydantic import SecretStr

from custom_classifier.config import Settings
from custom_classifier.errors import ServiceUnavailableError
from custom_classifier.jobs.queue import JobQueue
from custom_classifier.jobs.reaper import Reaper
from custom_classifier.jobs.recovery import STOPPED
from custom_classifier.jobs.status import JobStatus
from custom_classifier.processes import stop_process
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.engine import Database
from custom_classifier.storage.tables import JobRecord
from custom_classifier.training.process_environment import TRAINING_PROCESS_ENVIRONMENT

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
CANCEL_GRACE_SECONDS = 60.0
"""A cancelled training that has not stopped by itself after this long is killed."""
TERMINATE_GRACE_SECONDS = 10.0
"""A worker told to stop (SIGTERM) is killed after this long."""


def settings_environment(settings: Settings) -> dict[str, str]:
    """The `CC_*` variables that rebuild `settings` in a child process."""
    environment = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, list | dict):
            value = json.dumps(value, default=str)
        environment[f"CC_{name.upper()}"] = str(value)
    return environment


class EmbeddedJobQueue(JobQueue):
    def __init__(self, settings: Settings, database: Database) -> None:
        self._settings = settings
        self._database = database
        self._workers: dict[str, _Worker] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reaper = Reaper(
            database, settings, on_requeued=self.enqueue, before_release=self._stop_own_worker
        )

    def enqueue(self, job_id: str) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        """A job whose worker is gone ends at once; a live worker is killed if it does not stop."""
        if self._reaper.settle_if_gone(job_id):
            return
        with self._lock:
            worker = self._workers.get(job_id)
        if worker is not None:
            worker.cancel_deadline = worker.elapsed() + CANCEL_GRACE_SECONDS

    def start(self) -> None:
        if self._thread is not None:
            return
        recovered = self._reaper.reap()
        if recovered:
            logger.warning("recovered interrupted jobs: %s", ", ".join(recovered))
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="cc-job-dispatcher", daemon=True)
        self._thread.start()
        self._reaper.start()

    def stop(self) -> None:
        """Stop dispatching, end running workers and re-queue (or fail) their jobs."""
        self._reaper.stop()
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            self._settle(worker, "the server stopped while this job was running")

    def ping(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise ServiceUnavailableError("the embedded job runner is not running")
        self._database.ping()

    @property
    def running_job_ids(self) -> list[str]:
        with self._lock:
            return list(self._workers)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._reap()
                self._dispatch()
            except Exception:  # noqa: BLE001 - the dispatcher must outlive a database hiccup
                logger.exception("job dispatcher iteration failed")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _dispatch(self) -> None:
        with self._lock:
            free = self._settings.embedded_workers - len(self._workers)
            busy = set(self._workers)
        if free <= 0 or self._stopping.is_set():
            return
        with self._database.session() as session:
            job_ids = jobs.queued_job_ids(session, limit=free, exclude=busy)
        for job_id in job_ids:
            worker = _Worker.spawn(job_id, self._settings)
            with self._lock:
                self._workers[job_id] = worker

    def _reap(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            if worker.cancel_deadline is not None and worker.elapsed() > worker.cancel_deadline:
                logger.warning("job %s did not stop after cancel; killing it", worker.job_id)
                worker.terminate()
            if worker.process.poll() is None:
                continue
            with self._lock:
                self._workers.pop(worker.job_id, None)
            status = worker.process.poll()
            self._settle(worker, f"{STOPPED} (its process exited with status {status})")

    def _settle(self, worker: _Worker, reason: str) -> None:
        """A worker ended: if its job still reads `running`, the worker did not finish it.

        When this fails (MLflow unreachable), the reaper settles the job on a later round.
        """
        worker.close()
        with self._database.session() as session:
            job = jobs.find_job(session, worker.job_id)
        if job is None or job.status != JobStatus.RUNNING or job.worker_pid != worker.pid:
            return
        try:
            self._reaper.settle(job, reason)
        except Exception:  # noqa: BLE001 - its process is gone: the reaper will see it
            logger.warning("could not settle job %s (%s)", job.id, reason, exc_info=True)

    def _stop_own_worker(self, job: JobRecord) -> None:
        """Before a silent job is settled: if the worker is ours and alive, it hangs; stop it."""
        with self._lock:
            worker = self._workers.get(job.id)
        if worker is not None and worker.pid == job.worker_pid and worker.process.poll() is None:
            logger.warning("job %s: worker %s stopped beating; stopping it", job.id, worker.pid)
            worker.terminate()


class _Worker:
    """One worker process and the log file it writes to."""

    def __init__(self, job_id: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.job_id = job_id
        self.process = process
        self.pid = process.pid
        self.cancel_deadline: float | None = None
        self._log = log
        self._started = time.monotonic()

    @classmethod
    def spawn(cls, job_id: str, settings: Settings) -> _Worker:
        log_dir = settings.resolved_home / "logs" / "jobs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = (log_dir / f"{job_id}.log").open("ab")  # noqa: SIM115 - closed in close()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
        environment.update(settings_environment(settings))
        environment.update(TRAINING_PROCESS_ENVIRONMENT)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "custom_classifier.jobs.embedded_worker",
                job_id,
                str(os.getpid()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            # Ctrl-C on the server must not hit the worker directly: the server stops it, and
            # a worker whose server died stops by itself.
            start_new_session=True,
        )
        logger.info("job %s started in worker process %s", job_id, process.pid)
        return cls(job_id, process, log)

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def terminate(self) -> None:
        stop_process(self.process, grace=TERMINATE_GRACE_SECONDS)

    def close(self) -> None:
        self._log.close()
