"""Crashes with real processes, per job runner (issue 15): a training's worker killed, the API
killed, both, and the API killed and restarted before the worker is killed.

Each case starts a training, waits until it trains, crashes what the case says (SIGKILL) and
starts again what a supervisor would (the API; a Celery worker). Then every job must reach a
final state - re-queued and accepted, or failed with a reason - with no MLflow run left RUNNING,
no version registered by a run that did not finish, and the version trained before the crash
predicting as it did. How long each took is printed in pytest's summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage.tables import JobRecord
from factories import FROZEN_LEARNING_RATE, make_topic_folder
from support.deployment import Deployment, deployment, recovery_environment, redis_reachable
from support.summary import add_summary_line

# Above the waits below, so that a job stuck on a busy machine fails with the processes' logs.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

LABELS = ["sport", "finance"]
# Held-out: these tests are about processes, and k-fold (auto's choice for this small test
# split) would train five more models per job.
FAST = {"epochs": 1, "max_length": 32, "batch_size": 8, "evaluation": "holdout"}
SLOW = {
    "epochs": 20,
    "max_length": 32,
    "batch_size": 4,
    "learning_rate": FROZEN_LEARNING_RATE,
    "early_stopping_patience": 20,
    "evaluation": "holdout",
}
"""A frozen model never reaches the perfect score that stops a training early: it trains every
epoch, long enough to be killed while it trains."""
ACCEPT_ALL = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
FINAL = {JobStatus.ACCEPTED, JobStatus.REJECTED, JobStatus.FAILED, JobStatus.CANCELLED}
TRAINING_STARTS_SECONDS = 300.0
RELEASED_SECONDS = 120.0
"""An interrupted attempt is given up (re-queued or failed) within this long after the crash:
heartbeats every second, a silent worker given up after 10 s (see `recovery_environment`)."""
ENDED_SECONDS = 600.0
"""A generous bound for the new attempt to train to its end on a busy machine."""
SPORT = "football match goal striker league team stadium"


@dataclass
class Site:
    deployment: Deployment
    alice: httpx.Client
    location: str
    baseline: dict[str, Any]
    """Version 1's answer before any crash."""


@pytest.fixture(scope="module", params=["embedded", "celery"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path
) -> Iterator[Site]:
    runner = request.param
    if runner == "celery" and not redis_reachable():
        pytest.skip("Redis is not running at 127.0.0.1:6379 (make test starts it)")
    root = tmp_path_factory.mktemp(f"crash-{runner}")
    folder = make_topic_folder(root / "home" / "data", dict.fromkeys(LABELS, 12), name="news")
    settings = {
        **recovery_environment(),
        "CC_BASE_MODEL": str(tiny_base_model),
        "CC_MIN_DOCS_PER_LABEL": "5",
    }
    with (
        deployment(root, runner, settings, users=["alice"]) as (running, keys),
        running.client(keys["alice"]) as alice,
    ):
        first = start_training(alice, str(folder), FAST)
        ended = running.wait_for_job(first, is_final, timeout=ENDED_SECONDS, what="ended")
        assert ended.status == JobStatus.ACCEPTED, ended.history
        yield Site(running, alice, str(folder), predict_version_1(alice))


def start_training(client: httpx.Client, location: str, training: dict[str, Any]) -> str:
    body = {"name": "news", "location": location, "labels": LABELS}
    body |= {"training": training, "acceptance": ACCEPT_ALL}
    response = client.post("/api/v1/classifiers", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def predict_version_1(client: httpx.Client) -> dict[str, Any]:
    response = client.post("/api/v1/classifiers/news/predict?version=1", json={"text": SPORT})
    assert response.status_code == 200, response.text
    return dict(response.json())


def is_final(job: JobRecord) -> bool:
    return job.status in FINAL


def training(attempt: int) -> Callable[[JobRecord], bool]:
    def trains(job: JobRecord) -> bool:
        phase = (job.progress or {}).get("phase")
        return job.status == JobStatus.RUNNING and job.attempts == attempt and phase == "training"

    return trains


# --- the crashes ------------------------------------------------------------------------------


def worker_killed(site: Deployment, job_id: str) -> int:
    job = site.job(job_id)
    assert job.worker_pid is not None
    site.kill_worker(job.worker_pid)
    if site.runner == "celery":
        site.start_worker()  # as a supervisor would
    return job.attempts


def api_killed(site: Deployment, job_id: str) -> int:
    attempt = site.job(job_id).attempts
    site.kill_api()
    site.start_api()
    return attempt


def both_killed(site: Deployment, job_id: str) -> int:
    job = site.job(job_id)
    assert job.worker_pid is not None
    site.kill_api()
    site.kill_worker(job.worker_pid)
    if site.runner == "celery":
        site.start_worker()
    site.start_api()
    return job.attempts


def api_restarted_then_worker_killed(site: Deployment, job_id: str) -> int:
    """The order of issue 15. An embedded worker stops with its server, so the restarted server
    runs the job again (attempt 2) and that worker is killed; a Celery worker trains on."""
    site.kill_api()
    site.start_api()
    attempt = 2 if site.runner == "embedded" else 1
    site.wait_for_job(
        job_id, training(attempt), timeout=TRAINING_STARTS_SECONDS, what="training again"
    )
    return worker_killed(site, job_id)


CRASHES = {
    "worker killed": worker_killed,
    "API killed": api_killed,
    "both killed": both_killed,
    "API killed, restarted, then worker killed": api_restarted_then_worker_killed,
}
EXPECTED = {
    # (runner, crash): how the job ends, after how many attempts
    ("embedded", "worker killed"): (JobStatus.ACCEPTED, 2),
    ("embedded", "API killed"): (JobStatus.ACCEPTED, 2),  # its worker stopped with it
    ("embedded", "both killed"): (JobStatus.ACCEPTED, 2),
    ("embedded", "API killed, restarted, then worker killed"): (JobStatus.FAILED, 2),
    ("celery", "worker killed"): (JobStatus.ACCEPTED, 2),
    ("celery", "API killed"): (JobStatus.ACCEPTED, 1),  # the worker trained on
    ("celery", "both killed"): (JobStatus.ACCEPTED, 2),
    ("celery", "API killed, restarted, then worker killed"): (JobStatus.ACCEPTED, 2),
}


@pytest.mark.parametrize("crash", CRASHES)
def test_every_job_ends_after_a_crash(
    site: Site, crash: str, request: pytest.FixtureRequest
) -> None:
    running = site.deployment
    job_id = start_training(site.alice, site.location, SLOW)
    running.wait_for_job(job_id, training(1), timeout=TRAINING_STARTS_SECONDS, what="training")

    attempt = CRASHES[crash](running, job_id)
    status, attempts = EXPECTED[running.runner, crash]
    released = None
    if attempts > attempt or status == JobStatus.FAILED:  # the crash interrupted the attempt
        running.wait_for_job(
            job_id,
            lambda job: job.status != JobStatus.RUNNING or job.attempts > attempt,
            timeout=RELEASED_SECONDS,
            what="re-queued or failed",
        )
        released = time.monotonic() - running.killed_at
    ended = running.wait_for_job(job_id, is_final, timeout=ENDED_SECONDS, what="ended")
    took = time.monotonic() - running.killed_at

    given_up = "" if released is None else f"attempt given up {released:.0f} s, "
    add_summary_line(
        request.config,
        f"crash ({running.runner}, {crash}): {ended.status} after {ended.attempts} attempts; "
        f"{given_up}ended {took:.0f} s after the last kill",
    )
    job = site.alice.get(f"/api/v1/jobs/{job_id}").json()
    assert (job["status"], ended.attempts) == (status, attempts), job["history"]
    if job["status"] == JobStatus.FAILED:
        assert "interrupted 2 times" in job["error"]["message"], job
        assert job["registered_model"] is None
    else:
        assert job["registered_model"]["version"] > 1, job
    assert_mlflow_consistent(running, site.alice)
    again = predict_version_1(site.alice)
    assert again["label"] == site.baseline["label"]
    assert again["scores"] == pytest.approx(site.baseline["scores"], rel=1e-5)
    assert not running.stray_processes()


def assert_mlflow_consistent(running: Deployment, alice: httpx.Client) -> None:
    """No run RUNNING; the registered versions are exactly those of accepted jobs, each from a
    FINISHED run."""
    from mlflow import MlflowClient

    client = MlflowClient(running.settings.resolved_tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, max_results=1000)
    assert [r.info.run_id for r in runs if r.info.status == "RUNNING"] == []
    versions = client.search_model_versions("name = 'alice.news'")
    assert {client.get_run(v.run_id).info.status for v in versions} <= {"FINISHED"}
    jobs = alice.get("/api/v1/jobs", params={"limit": 1000}).json()["data"]
    registered = {j["registered_model"]["version"] for j in jobs if j["registered_model"]}
    assert {int(v.version) for v in versions} == registered
