"""The production images, built with podman and run as docker/docker-compose.yml says.

One compose project for the module (two API replicas, a worker, MLflow, two PostgreSQL, Redis and
NGINX in containers), used through NGINX only, as a new team would: users, a data set, a small
training on the worker container, its events, predictions by run id and by name, another user's
404s, and a worker container killed mid-training. The loopback topology (tests/topology/) runs
the same processes without images and is faster; this one catches what only the images and
compose do (the images' contents, users and paths, the service names, start-up order, restarts).

Needs root, podman, debootstrap and podman-compose, which `make test` installs; without them it
fails and says so rather than skip: a machine that runs `make test` is expected to run it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from factories import make_tiny_base_model, make_zip, topic_folder_files
from support.compose_stack import (
    INSTALL_HINT,
    Stack,
    build_images,
    missing_requirements,
    running_stack,
)
from support.job_events import follow_events, wait_for_job
from support.summary import add_summary_line

pytestmark = [pytest.mark.images, pytest.mark.timeout(3600)]

LABELS = ["sport", "finance"]
# Held-out: these tests are about processes, and k-fold (auto's choice for this small test
# split) would train five more models per job.
FAST = {"epochs": 1, "max_length": 32, "batch_size": 8, "evaluation": "holdout"}
# Long enough to be killed while training, short enough to train again after the requeue.
SLOWER = {
    "epochs": 40,
    "max_length": 32,
    "batch_size": 2,
    "early_stopping_patience": 0,
    "evaluation": "holdout",
}
ACCEPT_ALL = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
TERMINAL = {"accepted", "rejected", "failed", "cancelled"}
SPORT = "football match goal striker league team stadium"


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    if missing := missing_requirements():
        pytest.fail(f"the images test needs {'; '.join(missing)}: {INSTALL_HINT}")
    root = tmp_path_factory.mktemp("images")
    build_seconds = build_images(root / "build.log")
    model = readable_by_everyone(make_tiny_base_model(root / "tiny-bert"))
    with running_stack(root, model) as running:
        running.timings["build_seconds"] = build_seconds
        yield running
    timings = ", ".join(f"{name} {seconds:.0f}" for name, seconds in running.timings.items())
    add_summary_line(request.config, f"production images (seconds): {timings}")


def readable_by_everyone(folder: Path) -> Path:
    """The containers run as their own users: the mounted model must be readable by them."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder.parent.chmod(0o755)
    return folder


def create_user(stack: Stack, username: str) -> str:
    with stack.client(stack.admin_key) as admin:
        for _ in range(3):  # 503: MLflow too busy to create the user's account in time
            response = admin.post("/api/v1/users", json={"username": username})
            if response.status_code != 503:
                break
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"]["key"])


@pytest.fixture(scope="module")
def alice(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client(create_user(stack, "alice")) as client:
        yield client


@pytest.fixture(scope="module")
def bob(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client(create_user(stack, "bob")) as client:
        yield client


def follow(client: httpx.Client, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The job's server-sent events through NGINX, until `end`."""
    return follow_events(client, job_id, timeout=600)


def wait_for(client: httpx.Client, job_id: str, until: Any, timeout: float = 300) -> Any:
    return wait_for_job(client, job_id, until, timeout, poll_seconds=0.3)


def train(client: httpx.Client, location: str, training: dict[str, Any]) -> dict[str, Any]:
    body = {"name": "news", "location": location, "labels": LABELS}
    body |= {"training": training, "acceptance": ACCEPT_ALL}
    response = client.post("/api/v1/classifiers", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def first_version(
    stack: Stack, alice: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Alice uploads a zip, trains on the worker container, and follows the job to the end."""
    files = topic_folder_files(dict.fromkeys(LABELS, 12))
    archive = make_zip(
        tmp_path_factory.mktemp("zips") / "news.zip", {f"news/{k}": v for k, v in files.items()}
    )
    with archive.open("rb") as upload:
        uploaded = alice.post(
            "/api/v1/datasets", files={"file": ("news.zip", upload, "application/zip")}
        )
    assert uploaded.status_code == 201, uploaded.text
    began = time.monotonic()
    job = train(alice, uploaded.json()["location"], FAST)
    events = follow(alice, job["id"])
    stack.timings["first_training_seconds"] = time.monotonic() - began
    return {"upload": uploaded.json(), "events": events, "job": events[-1][1]}


def test_every_service_runs_from_the_images(stack: Stack) -> None:
    with stack.client() as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        ready = anonymous.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert anonymous.get("/mlflow/health").status_code == 200
    assert len(stack.containers("api")) == 2  # deploy.replicas, read by podman-compose too
    assert len(stack.containers("worker")) == 1


def test_a_new_user_trains_follows_and_predicts_through_nginx(
    alice: httpx.Client, first_version: dict[str, Any]
) -> None:
    job = first_version["job"]
    statuses = [data["status"] for _, data in first_version["events"]]
    assert first_version["upload"]["labels"] == {"finance": 12, "sport": 12}
    assert job["status"] == "accepted", job
    assert "running" in statuses and statuses[-1] == "accepted"
    assert job["registered_model"] == {"name": "alice.news", "version": 1}
    by_run = alice.post(f"/api/v1/models/{job['run_id']}/predict", json={"text": SPORT})
    assert by_run.status_code == 200, by_run.text
    assert by_run.json()["label"] in LABELS
    by_name = alice.post("/api/v1/classifiers/news/predict", json={"text": SPORT})
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["label"] == by_run.json()["label"]


def test_another_user_cannot_reach_the_jobs_or_models(
    bob: httpx.Client, first_version: dict[str, Any]
) -> None:
    job = first_version["job"]
    assert bob.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert bob.get("/api/v1/classifiers/news").status_code == 404
    assert bob.post("/api/v1/classifiers/news/predict", json={"text": SPORT}).status_code == 404
    predict = bob.post(f"/api/v1/models/{job['run_id']}/predict", json={"text": SPORT})
    assert predict.status_code == 404


def test_a_worker_container_killed_mid_training_loses_nothing(
    stack: Stack, alice: httpx.Client, first_version: dict[str, Any]
) -> None:
    location = first_version["upload"]["location"]
    job = train(alice, location, SLOWER)
    wait_for(alice, job["id"], lambda j: (j["progress"] or {}).get("phase") == "training")
    [worker] = stack.containers("worker")
    # SIGKILL from the host, as the kernel's OOM killer or a crash would: the restart policy
    # brings the container back (`podman kill` counts as an operator's stop: no restart).
    os.kill(int(stack.inspect(worker, "{{.State.Pid}}")), signal.SIGKILL)
    began = time.monotonic()

    finished = wait_for(alice, job["id"], lambda j: j["status"] in TERMINAL, timeout=420)
    stack.timings["killed_job_settled_seconds"] = time.monotonic() - began
    history = " ".join(h["message"] or "" for h in finished["history"])
    assert "worker running this job stopped" in history, (finished["history"], stack.logs())
    if finished["status"] == "failed":
        assert finished["error"]["message"], finished
        return
    assert finished["status"] == "accepted", finished
    assert finished["registered_model"] == {"name": "alice.news", "version": 2}
    assert stack.inspect(worker, "{{.RestartCount}}") == "1"  # the same container, restarted
