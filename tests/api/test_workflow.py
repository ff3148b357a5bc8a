"""The whole workflow through the real app, embedded runner, MLflow store and a tiny model.

One server for the module: alice uploads a zip and trains version 1, points at a shared folder
for version 2 (the server restarts while it trains), moves an alias, cancels a training; bob
sees none of it.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import (
    FROZEN_LEARNING_RATE,
    api_headers,
    make_topic_folder,
    make_zip,
    topic_folder_files,
)

LABELS = ["sport", "finance"]
FAST = {"epochs": 1, "max_length": 32, "batch_size": 8}
ACCEPT_ALL = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
TERMINAL = {"accepted", "rejected", "failed", "cancelled"}
SPORT = "football match goal striker league team stadium"


class Server:
    """A started app that can be stopped and started again on the same CC_HOME."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = self._start()

    def _start(self) -> TestClient:
        client = TestClient(create_app(self.settings), raise_server_exceptions=False)
        client.__enter__()
        return client

    def stop(self) -> None:
        self.client.__exit__(None, None, None)

    def restart(self) -> None:
        self.stop()
        self.client = self._start()

    def job(self, headers: dict[str, str], job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, headers: dict[str, str], job_id: str, until: Any, timeout: float = 300) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(headers, job_id)
            if until(job):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} never reached the state wanted: {job}")

    def follow(self, headers: dict[str, str], job_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The server-sent events of a job, until `end`."""
        events: list[tuple[str, dict[str, Any]]] = []
        url = f"/api/v1/jobs/{job_id}/events"
        with self.client.stream("GET", url, headers=headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            name = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    events.append((name, json.loads(line.partition(":")[2])))
                    if name == "end":
                        break
        return events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("api-home")
    settings = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    running = Server(settings)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def alice(server: Server) -> dict[str, str]:
    return api_headers(server.client.app, "alice")


@pytest.fixture(scope="module")
def bob(server: Server) -> dict[str, str]:
    return api_headers(server.client.app, "bob")


@pytest.fixture(scope="module")
def shared_folder(server: Server) -> Path:
    return make_topic_folder(server.settings.resolved_data_roots[0], dict.fromkeys(LABELS, 20))


def _create(server: Server, headers: dict[str, str], location: str, **options: Any) -> Any:
    body = {"name": "news", "location": location, "labels": LABELS, **options}
    response = server.client.post("/api/v1/classifiers", headers=headers, json=body)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
def first_version(server: Server, alice: dict[str, str], tmp_path_factory: Any) -> dict[str, Any]:
    """Alice uploads a zip and trains version 1 while following its events."""
    archive = make_zip(
        tmp_path_factory.mktemp("zips") / "news.zip",
        {f"news/{k}": v for k, v in topic_folder_files(dict.fromkeys(LABELS, 20)).items()},
    )
    with archive.open("rb") as upload:
        files = {"file": ("news.zip", upload, "application/zip")}
        uploaded = server.client.post("/api/v1/datasets", headers=alice, files=files)
    assert uploaded.status_code == 201, uploaded.text
    job = _create(server, alice, uploaded.json()["location"], training=FAST, acceptance=ACCEPT_ALL)
    events = server.follow(alice, job["id"])
    return {"upload": uploaded.json(), "job": events[-1][1], "events": events}


@pytest.fixture(scope="module")
def second_version(
    server: Server, alice: dict[str, str], first_version: Any, shared_folder: Path
) -> dict[str, Any]:
    """Alice points at a shared folder; the server restarts while the job runs."""
    job = _create(server, alice, str(shared_folder), training=FAST, acceptance=ACCEPT_ALL)
    server.wait(alice, job["id"], lambda j: j["status"] == "running")
    server.restart()
    requeued = server.job(alice, job["id"])
    finished = server.wait(alice, job["id"], lambda j: j["status"] in TERMINAL)
    return {"requeued": requeued, "job": finished}


def test_upload_train_follow_and_predict_by_run_id(
    server: Server, alice: dict[str, str], first_version: dict[str, Any]
) -> None:
    job = first_version["job"]
    statuses = [data["status"] for _, data in first_version["events"]]
    assert first_version["upload"]["labels"] == {"finance": 20, "sport": 20}
    assert job["status"] == "accepted", job
    assert "running" in statuses and statuses[-1] == "accepted"
    assert job["registered_model"] == {"name": "alice.news", "version": 1}
    assert job["metrics"] and job["progress"]["phase"] == "done"

    url = f"/api/v1/models/{job['run_id']}/predict"
    one = server.client.post(url, headers=alice, json={"text": SPORT}).json()
    many = server.client.post(url, headers=alice, json={"texts": [SPORT, "bank"]}).json()

    assert set(one) == {"label", "score", "scores", "abstained"}
    assert one["abstained"] is False and set(one["scores"]) == set(LABELS)
    assert len(many) == 2 and many[0]["label"] == one["label"]
    assert many[0]["score"] == pytest.approx(one["score"], abs=1e-4)


def test_predict_a_file_and_by_classifier_alias(
    server: Server, alice: dict[str, str], first_version: dict[str, Any]
) -> None:
    run_id = first_version["job"]["run_id"]
    page = io.BytesIO(f"<html><body><p>{SPORT}</p></body></html>".encode())

    by_file = server.client.post(
        f"/api/v1/models/{run_id}/predict-file",
        headers=alice,
        files={"file": ("page.html", page, "text/html")},
    )
    by_alias = server.client.post(
        "/api/v1/classifiers/news/predict", headers=alice, json={"text": SPORT}
    )

    assert by_file.status_code == 200 and by_file.json()["label"] in LABELS
    assert by_alias.status_code == 200 and by_alias.json()["label"] in LABELS


def test_a_restart_requeues_the_running_job_which_then_finishes(second_version: Any) -> None:
    requeued, job = second_version["requeued"], second_version["job"]

    assert requeued["status"] in ("queued", "running")
    assert "re-queued" in " ".join(h["message"] or "" for h in job["history"])
    assert [h["status"] for h in job["history"]] == [
        "queued",
        "running",
        "queued",
        "running",
        "accepted",
    ]
    assert job["attempts"] == 2
    assert job["registered_model"]["version"] == 2


def test_an_unwatched_job_records_every_curve_point(second_version: Any) -> None:
    """Nobody followed this job's events (it was polled, and restarted mid-run): its detail
    still has every loss point of the run that finished, and one validation point per epoch."""
    curves = second_version["job"]["curves"]
    steps = [point["step"] for point in curves["loss"]]

    # A short training logs every step: steps 1, 2, ... up to the end of its only epoch, once
    # each (the interrupted first attempt's points were replaced by the run that finished).
    assert 0 < len(steps) <= 100
    assert steps == list(range(1, len(steps) + 1))
    assert curves["loss"][-1]["x"] == FAST["epochs"]
    assert all(point["y"] > 0 for point in curves["loss"])
    assert [point["x"] for point in curves["validation"]] == [1.0]
    assert set(curves["validation"][0]) == {"x", "macro_f1", "accuracy"}


def test_move_an_alias_back_and_forth(
    server: Server, alice: dict[str, str], second_version: Any
) -> None:
    url = "/api/v1/classifiers/news"
    before = server.client.get(url, headers=alice).json()

    moved = server.client.put(f"{url}/aliases/champion", headers=alice, json={"version": 1})
    staging = server.client.put(f"{url}/aliases/staging", headers=alice, json={"version": 2})
    predicted = server.client.post(
        f"{url}/predict?version=staging", headers=alice, json={"texts": [SPORT]}
    )
    missing = server.client.put(f"{url}/aliases/champion", headers=alice, json={"version": 9})

    assert before["aliases"] == {"champion": 2}
    assert [v["version"] for v in before["versions"]] == [2, 1]
    assert moved.status_code == 200 and moved.json()["aliases"]["champion"] == 1
    assert staging.json()["aliases"] == {"champion": 1, "staging": 2}
    assert predicted.status_code == 200 and len(predicted.json()) == 1
    assert missing.status_code == 404


def test_users_cannot_see_each_others_anything(
    server: Server, alice: dict[str, str], bob: dict[str, str], first_version: Any
) -> None:
    job = first_version["job"]
    client = server.client
    missing_run = client.post(f"/api/v1/models/{'0' * 32}/predict", headers=bob, json={"text": "x"})
    others_run = client.post(
        f"/api/v1/models/{job['run_id']}/predict", headers=bob, json={"text": "x"}
    )

    assert client.get("/api/v1/jobs", headers=bob).json()["count"] == 0
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=bob).status_code == 404
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=bob).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}/events", headers=bob).status_code == 404
    assert others_run.status_code == missing_run.status_code == 404
    assert others_run.json()["error"]["code"] == missing_run.json()["error"]["code"]
    assert client.get("/api/v1/classifiers", headers=bob).json()["count"] == 0
    assert client.get("/api/v1/classifiers/news", headers=bob).status_code == 404
    assert (
        client.post("/api/v1/classifiers/news/predict", headers=bob, json={"text": "x"}).status_code
        == 404
    )
    stolen = client.post(
        "/api/v1/classifiers",
        headers=bob,
        json={"name": "news", "location": first_version["upload"]["location"], "labels": LABELS},
    )
    assert stolen.status_code == 422 and stolen.json()["error"]["code"] == "location_not_allowed"
    listing = client.get("/api/v1/datasets/browse?path=users", headers=bob).json()
    assert [f["name"] for f in listing["folders"]] == ["bob"]


def test_cancel_a_running_training_registers_nothing(
    server: Server, alice: dict[str, str], shared_folder: Path, second_version: Any
) -> None:
    # A frozen model: it never reaches the perfect validation score that would stop it.
    slow = {
        **FAST,
        "epochs": 500,
        "early_stopping_patience": 500,
        "learning_rate": FROZEN_LEARNING_RATE,
    }
    job = _create(server, alice, str(shared_folder), training=slow, acceptance=ACCEPT_ALL)
    server.wait(alice, job["id"], lambda j: (j["progress"] or {}).get("phase") == "training")

    cancelled = server.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)
    final = server.wait(alice, job["id"], lambda j: j["status"] in TERMINAL, timeout=120)
    again = server.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)

    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"]
    assert final["status"] == "cancelled" and final["registered_model"] is None
    assert again.status_code == 409
    versions = server.client.get("/api/v1/classifiers/news", headers=alice).json()["versions"]
    assert len(versions) == 2
