"""Cancelling a job whose worker is gone ends it at once, with its MLflow run."""

from __future__ import annotations

import socket
import subprocess
import uuid
from pathlib import Path

from mlflow import MlflowClient

from custom_classifier.config import Settings
from custom_classifier.jobs.embedded import EmbeddedJobQueue
from custom_classifier.jobs.status import JobStatus
from custom_classifier.registry import Registry
from custom_classifier.services.jobs import cancel_job
from custom_classifier.services.users import Identity
from custom_classifier.storage import job_repository
from custom_classifier.storage.clock import utcnow
from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade
from custom_classifier.storage.tables import JobRecord
from factories import open_run


def test_cancelling_a_job_whose_worker_is_gone_ends_it_and_its_run_at_once(
    registry: Registry, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=registry.tracking_uri)
    database = Database.connect(f"sqlite:///{tmp_path / 'metadata.db'}")
    upgrade(database.engine, "metadata")
    job_id = _running_job_of_a_dead_worker(database)
    run = open_run(registry, job_id)
    queue = EmbeddedJobQueue(settings, database)  # not started: the cancel itself settles it

    with database.sessions() as session:
        status = cancel_job(session, queue, Identity("alice"), job_id).status
    database.dispose()

    killed = MlflowClient(registry.tracking_uri).get_run(run)
    assert status == JobStatus.CANCELLED
    assert (killed.info.status, killed.data.tags["cc.outcome"]) == ("KILLED", "cancelled")
    assert "has exited" in killed.data.tags["cc.stop_reason"]


def _running_job_of_a_dead_worker(database: Database) -> str:
    finished = subprocess.Popen(["true"])
    finished.wait()
    job_id = uuid.uuid4().hex
    request = {"name": "news", "owner": "alice", "location": "/data", "labels": ["a", "b"]}
    with database.session() as session:
        job_repository.add_job(
            session,
            JobRecord(
                id=job_id,
                owner="alice",
                name="news",
                location="/data",
                labels=["a", "b"],
                request=request,
                status=JobStatus.RUNNING,
                attempts=1,
                worker_host=socket.gethostname(),
                worker_pid=finished.pid,
                heartbeat_at=utcnow(),
            ),
        )
    return job_id
