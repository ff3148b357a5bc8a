"""One installation as real processes on loopback, for crash tests: the API server
(`custom-classifier serve`), and for the Celery runner a `custom-classifier worker` on a Redis
database of its own. Embedded databases and the MLflow store live under one CC_HOME, so they
outlive any process; each process can be killed (SIGKILL, as a dying machine would) and
started again.

Every process started here runs in its own session and is stopped by its id when the
deployment closes, the embedded worker processes the API started included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from custom_classifier.config import Settings
from custom_classifier.processes import free_port, stop_processes
from custom_classifier.storage import job_repository
from custom_classifier.storage.engine import Database
from custom_classifier.storage.tables import JobRecord

Runner = Literal["embedded", "celery"]
CELERY_BROKER = "redis://127.0.0.1:6379/14"
"""A Redis database of its own (the Celery queue tests use 13): emptied when a deployment starts."""
START_SECONDS = 120.0
POLL_SECONDS = 0.1


def recovery_environment() -> dict[str, str]:
    """Heartbeats every second; a silent worker is given up after 10 s; Redis redelivers an
    unacknowledged message after 10 s (defaults: 5 s, 60 s and 600 s)."""
    return {
        "CC_JOB_HEARTBEAT_SECONDS": "1",
        "CC_JOB_STALE_AFTER_SECONDS": "10",
        "CC_BROKER_VISIBILITY_TIMEOUT": "10",
    }


@dataclass
class Deployment:
    root: Path
    runner: Runner
    environment: dict[str, str]
    port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    killed_at: float = 0.0
    """`time.monotonic()` of the last kill."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> Settings:
        return Settings(home=Path(self.environment["CC_HOME"]))

    def client(self, key: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120.0)

    # --- processes ----------------------------------------------------------------------------

    def start_api(self) -> None:
        """Start the API server and wait until it is ready (its runner started)."""
        assert self.api is None or self.api.poll() is not None, "the API is already running"
        command = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.api = self._spawn("api", command)
        self._wait_ready()

    def start_worker(self) -> None:
        """Start a Celery worker (one training at a time); it takes messages once connected."""
        assert self.runner == "celery"
        assert self.worker is None or self.worker.poll() is not None, "a worker is running"
        command = ["worker", "--concurrency=1", "--hostname=crash@%h", "--loglevel=info"]
        self.worker = self._spawn("worker", command)

    def kill_api(self) -> None:
        """SIGKILL the API's process group: an embedded worker runs in a session of its own."""
        assert self.api is not None
        _kill_group(self.api)
        self.killed_at = time.monotonic()

    def kill_worker(self, pid: int) -> None:
        """SIGKILL the training process `pid`: the embedded worker, or the Celery worker's whole
        process group (a machine that dies)."""
        if self.runner == "celery":
            assert self.worker is not None
            _kill_group(self.worker)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.killed_at = time.monotonic()

    def close(self) -> None:
        """Stop every process started here, then any the API or a worker started (embedded
        workers, heartbeats: they run in this deployment's folder), each by its id."""
        started = [p for p in (self.worker, self.api) if p is not None]
        stop_processes(started, grace=30, group=True)
        for pid in _processes_in(self.root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stray_processes(self, timeout: float = 60.0) -> list[str]:
        """Processes of this deployment other than the API and the Celery worker, still there
        after `timeout` seconds (an ended training's processes exit within moments)."""
        deadline = time.monotonic() + timeout
        while True:
            strays = [_command(pid) for pid in _processes_in(self.root) if not self._ours(pid)]
            if not strays or time.monotonic() > deadline:
                return strays
            time.sleep(POLL_SECONDS)

    def _ours(self, pid: int) -> bool:
        groups = {p.pid for p in (self.api, self.worker) if p is not None and p.poll() is None}
        with contextlib.suppress(ProcessLookupError):
            return os.getpgid(pid) in groups
        return True

    # --- the job rows, read from the database as the processes write them ---------------------

    def job(self, job_id: str) -> JobRecord:
        database = Database.connect(self.settings.resolved_database_url)
        try:
            with database.session() as session:
                job = job_repository.get_job(session, job_id)
        finally:
            database.dispose()
        return job

    def wait_for_job(
        self, job_id: str, until: Callable[[JobRecord], bool], *, timeout: float, what: str
    ) -> JobRecord:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if until(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id} not {what} after {timeout:.0f} s: {job.status}, "
                    f"{job.progress}, {job.history}\n{self.logs()}"
                )
            time.sleep(POLL_SECONDS)

    def logs(self) -> str:
        parts = []
        for log in sorted((self.root / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-30:]
            parts.append(f"--- {log.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    # --- helpers ------------------------------------------------------------------------------

    def _spawn(self, name: str, arguments: list[str]) -> subprocess.Popen[bytes]:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as output:
            return subprocess.Popen(
                [sys.executable, "-m", "custom_classifier.cli", *arguments],
                env=self.environment,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        assert self.api is not None
        deadline = time.monotonic() + START_SECONDS
        while not _answers(f"{self.url}/readyz"):
            if self.api.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start\n{self.logs()}")
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def deployment(
    root: Path, runner: Runner, settings: dict[str, str], *, users: list[str]
) -> Iterator[tuple[Deployment, dict[str, str]]]:
    """A started deployment and an API key for each of `users`; closed when the block ends."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    environment = {
        **inherited,
        "CC_HOME": str(root / "home"),
        "CC_JOB_BACKEND": runner,
        "CC_BROKER_URL": CELERY_BROKER,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }
    running = Deployment(root, runner, environment)
    try:
        keys = {user: _create_user(running, user) for user in users}
        if runner == "celery":
            _empty_queue()
            running.start_worker()
        running.start_api()
        yield running, keys
    finally:
        running.close()


def _create_user(running: Deployment, name: str) -> str:
    """With the CLI, as an operator would (it also creates the databases)."""
    result = subprocess.run(
        [sys.executable, "-m", "custom_classifier.cli", "users", "create", name],
        env=running.environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not create {name}: {result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def _empty_queue() -> None:
    import redis

    client: Any = redis.Redis.from_url(CELERY_BROKER)
    try:
        client.flushdb()
    finally:
        client.close()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _processes_in(folder: Path) -> list[int]:
    """Live processes whose working folder is `folder` (everything a deployment starts)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if Path(os.readlink(entry / "cwd")) == folder.resolve() and "Z" not in _state(entry):
                pids.append(int(entry.name))
    return pids


def _state(entry: Path) -> str:
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]


def _command(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"{pid} (gone)"
    return f"{pid} " + command.replace(b"\0", b" ").decode(errors="replace")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def redis_reachable() -> bool:
    from kombu import Connection

    try:
        with Connection(CELERY_BROKER, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001
        return False
    return True
