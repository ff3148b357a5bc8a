"""The Celery job queue against the real Redis (and RabbitMQ when it runs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kombu import Connection

from custom_classifier.config import Settings
from custom_classifier.errors import ServiceUnavailableError
from custom_classifier.jobs import celery_app
from custom_classifier.jobs.celery_app import (
    QUEUE,
    TASK_NAME,
    Delivery,
    make_celery_app,
    prepare_delivery,
)
from custom_classifier.jobs.celery_queue import CeleryJobQueue
from custom_classifier.jobs.status import JobStatus
from custom_classifier.services.runtime import make_job_queue
from custom_classifier.storage import job_repository
from custom_classifier.storage.clock import utcnow
from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade
from custom_classifier.storage.tables import JobRecord

REDIS_URL = "redis://127.0.0.1:6379/13"
"""A Redis database of its own, so the queue can be emptied without touching anyone else's."""
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def reachable(url: str) -> bool:
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001
        return False
    return True


requires_redis = pytest.mark.skipif(
    not reachable(REDIS_URL), reason="Redis is not running (make test starts it)"
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'metadata.db'}")
    upgrade(database.engine, "metadata")
    yield database
    database.dispose()


def settings_for(database: Database, broker_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=str(database.engine.url),
        job_backend="celery",
        broker_url=broker_url,
    )


def add_job(database: Database, status: JobStatus = JobStatus.QUEUED, **values: object) -> str:
    job_id = uuid.uuid4().hex
    request = {"name": "news", "owner": "alice", "location": "/nowhere", "labels": ["a", "b"]}
    with database.session() as session:
        job_repository.add_job(
            session,
            JobRecord(
                id=job_id,
                owner="alice",
                name="news",
                location="/nowhere",
                labels=["a", "b"],
                request=request,
                status=status,
                **values,
            ),
        )
    return job_id


def drain(broker_url: str) -> list[tuple[dict[str, object], list[object]]]:
    """Every message waiting in the training queue: (headers, positional args)."""
    messages = []
    with Connection(broker_url) as connection, connection.SimpleQueue(QUEUE) as queue:
        while True:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                return messages
            body = message.decode()
            messages.append((message.headers, list(body[0])))
            message.ack()


@requires_redis
def test_enqueue_sends_only_the_job_id(database: Database, tmp_path: Path) -> None:
    drain(REDIS_URL)
    queue = make_job_queue(settings_for(database, REDIS_URL, tmp_path), database)
    assert isinstance(queue, CeleryJobQueue)
    queue.enqueue("job-1")
    [(headers, args)] = drain(REDIS_URL)
    assert args == ["job-1"]
    assert headers["id"] == "job-1"


def test_the_api_process_enqueues_without_importing_torch() -> None:
    # In a fresh interpreter: the test session itself has long imported torch.
    script = (
        "import sys\n"
        "from custom_classifier.app import create_app\n"
        "from custom_classifier.jobs.celery_queue import CeleryJobQueue\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_delivery_is_acknowledged_late_one_message_at_a_time(tmp_path: Path) -> None:
    app = make_celery_app(Settings(home=tmp_path))
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_a_duplicate_delivery_keeps_looking_however_often_it_waited(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Celery reads `retry(max_retries=None)` as the task's default (3): the delivery that waits
    for a live worker gave up after three looks, and a job whose worker died after that was left
    without a message. The 51st look is retried like the first."""
    monkeypatch.setenv("CC_HOME", str(tmp_path))
    deliveries = iter([Delivery.WAIT, Delivery.SKIP])
    monkeypatch.setattr(celery_app, "prepare_delivery", lambda *_, **__: next(deliveries))
    task = make_celery_app(Settings(home=tmp_path)).tasks[TASK_NAME]

    looked = task.apply(args=["job-1"], retries=50)

    assert looked.state != "FAILURE", looked.traceback
    assert next(deliveries, "all looked") == "all looked"  # the retry was delivered and looked
    assert task.max_retries is None


@pytest.mark.skipif(
    not reachable(RABBITMQ_URL), reason="RabbitMQ is not running (make test starts it)"
)
def test_a_rabbitmq_broker_url_works_too(database: Database, tmp_path: Path) -> None:
    drain(RABBITMQ_URL)
    queue = CeleryJobQueue(settings_for(database, RABBITMQ_URL, tmp_path), database)
    queue.ping()
    queue.enqueue("job-2")
    assert [args for _, args in drain(RABBITMQ_URL)] == [["job-2"]]


def test_ping_says_which_broker_is_unreachable(database: Database, tmp_path: Path) -> None:
    queue = CeleryJobQueue(settings_for(database, "redis://127.0.0.1:1/0", tmp_path), database)
    with pytest.raises(ServiceUnavailableError, match="127.0.0.1:1"):
        queue.ping()


def test_a_queued_job_runs(database: Database) -> None:
    assert prepare_delivery(database, add_job(database)) is Delivery.RUN


def test_a_finished_or_unknown_job_is_left_alone(database: Database) -> None:
    assert prepare_delivery(database, add_job(database, JobStatus.ACCEPTED)) is Delivery.SKIP
    assert prepare_delivery(database, "no-such-job") is Delivery.SKIP


def test_a_job_running_on_a_live_worker_is_not_run_twice(database: Database) -> None:
    job_id = add_job(
        database,
        JobStatus.RUNNING,
        worker_host=socket.gethostname(),
        worker_pid=os.getpid(),
        heartbeat_at=utcnow(),
        attempts=1,
    )
    assert prepare_delivery(database, job_id) is Delivery.WAIT


def test_a_job_whose_worker_died_is_requeued_then_failed_with_a_reason(database: Database) -> None:
    dead = dead_pid()
    job_id = add_job(
        database,
        JobStatus.RUNNING,
        worker_host=socket.gethostname(),
        worker_pid=dead,
        heartbeat_at=utcnow(),
        attempts=1,
    )
    assert prepare_delivery(database, job_id) is Delivery.RUN
    with database.session() as session:
        assert job_repository.get_job(session, job_id).status == JobStatus.QUEUED

    stale = add_job(
        database,
        JobStatus.RUNNING,
        worker_host="another-machine",
        worker_pid=1,
        heartbeat_at=utcnow() - timedelta(minutes=5),
        attempts=2,
    )
    assert prepare_delivery(database, stale) is Delivery.SKIP
    with database.session() as session:
        job = job_repository.get_job(session, stale)
        assert job.status == JobStatus.FAILED
        assert "worker running this job stopped" in (job.error_message or "")


@requires_redis
def test_a_worker_runs_the_job_and_records_how_it_ended(database: Database, tmp_path: Path) -> None:
    drain(REDIS_URL)
    settings = settings_for(database, REDIS_URL, tmp_path)
    job_id = add_job(database)
    environment = {
        **os.environ,
        "CC_HOME": str(tmp_path),
        "CC_DATABASE_URL": str(database.engine.url),
    }
    environment |= {"CC_JOB_BACKEND": "celery", "CC_BROKER_URL": REDIS_URL}
    worker = subprocess.Popen(
        [sys.executable, "-m", "custom_classifier.cli", "worker", f"--hostname=test-{job_id}@%h"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        CeleryJobQueue(settings, database).enqueue(job_id)
        status = wait_for_end(database, job_id, timeout=90)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    with database.session() as session:
        job = job_repository.get_job(session, job_id)
    assert status == JobStatus.FAILED  # the folder does not exist
    assert job.error_message and job.attempts == 1


def wait_for_end(database: Database, job_id: str, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.session() as session:
            status = job_repository.get_job(session, job_id).status
        if status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return status
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end within {timeout} s (status {status})")


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
