"""A batch prediction job on a real Celery worker (Redis): the same task as a training, which
reads the job's kind; the predictions and the summary land in the job row and the model's run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from custom_classifier.config import Settings
from custom_classifier.jobs.batch_contract import BatchJobResult, BatchPredictionRequest, output_dir
from custom_classifier.jobs.celery_queue import CeleryJobQueue
from custom_classifier.jobs.status import JobKind, JobStatus
from custom_classifier.registry.connect import open_registry
from custom_classifier.storage import job_repository
from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade
from custom_classifier.storage.tables import JobRecord
from factories import log_classifier_run
from jobs.test_celery_queue import REDIS_URL, drain, requires_redis, wait_for_end

DOCUMENTS = 12


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'metadata.db'}")
    upgrade(database.engine, "metadata")
    yield database
    database.dispose()


def add_batch_job(database: Database, settings: Settings, model_dir: Path, folder: Path) -> str:
    run_id = log_classifier_run(open_registry(settings), model_dir)
    request = BatchPredictionRequest(
        model=run_id,
        model_uri=f"runs:/{run_id}/model",
        model_run_id=run_id,
        location=str(folder),
        owner="alice",
        batch_size=5,
    )
    job_id = uuid.uuid4().hex
    with database.session() as session:
        job_repository.add_job(
            session,
            JobRecord(
                id=job_id,
                kind=JobKind.BATCH_PREDICTION,
                owner="alice",
                name=run_id,
                location=str(folder),
                labels=[],
                request=request.to_row(),
                status=JobStatus.QUEUED,
                run_id=run_id,
            ),
        )
    return job_id


@requires_redis
def test_a_celery_worker_runs_a_batch_prediction(
    database: Database, tmp_path: Path, tiny_classifier_dir: Path
) -> None:
    drain(REDIS_URL)
    settings = Settings(
        home=tmp_path,
        database_url=str(database.engine.url),
        job_backend="celery",
        broker_url=REDIS_URL,
    )
    folder = tmp_path / "inbox"
    folder.mkdir()
    for index in range(DOCUMENTS):
        (folder / f"doc_{index:02d}.txt").write_text(f"win cash now, message {index}")
    job_id = add_batch_job(database, settings, tiny_classifier_dir, folder)
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
        status = wait_for_end(database, job_id, timeout=300)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    with database.session() as session:
        job = job_repository.get_job(session, job_id)
    assert status == JobStatus.COMPLETED, job.history
    result = BatchJobResult.from_row(job.result)
    assert result.summary["total"] == DOCUMENTS and result.summary["unreadable"] == 0
    lines = (output_dir(settings, job_id) / "predictions.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["path"] for line in lines) == sorted(
        p.name for p in folder.iterdir()
    )
    client = open_registry(settings).client
    kept = client.list_artifacts(job.run_id, f"batch_predictions/{job_id}")
    assert {Path(a.path).name for a in kept} == {
        "predictions.csv",
        "predictions.jsonl",
        "summary.json",
    }
