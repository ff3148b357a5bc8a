"""Batch prediction jobs through the real app, embedded job runner, MLflow store and a tiny
model: a folder of 500 documents classified as one-by-one requests would, a worker killed
mid-way resuming without duplicates, cancellation, zips, and bad input with stable codes."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from custom_classifier.jobs.batch_contract import output_dir
from custom_classifier.storage.tables import JobRecord
from factories import api_headers, make_topic_folder, make_zip, topic_folder_files

LABELS = ["sport", "finance"]
FAST = {"epochs": 1, "max_length": 32, "batch_size": 8}
ACCEPT_ALL = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
ENDED = {"completed", "failed", "cancelled"}
DOCUMENTS = 500
UNREADABLE = 2
SCORE_TOLERANCE = 2e-3
"""The int8 ONNX scorer quantizes activations per batch, so a document scored among others
differs from the same document alone in the fourth decimal (1e-4 seen)."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("batch-home")
    settings = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


@pytest.fixture(scope="module")
def settings(client: TestClient) -> Settings:
    return client.app.state.runtime.settings  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def model(client: TestClient, alice: dict[str, str], settings: Settings) -> dict[str, Any]:
    """Version 1 of alice's `news`, trained through the API."""
    folder = make_topic_folder(settings.resolved_data_roots[0], dict.fromkeys(LABELS, 12))
    body = {"name": "news", "location": str(folder), "labels": LABELS}
    body |= {"training": FAST, "acceptance": ACCEPT_ALL}
    response = client.post("/api/v1/classifiers", headers=alice, json=body)
    assert response.status_code == 202, response.text
    job = wait(client, alice, f"/api/v1/jobs/{response.json()['id']}", ENDED | {"accepted"})
    assert job["status"] == "accepted", job
    return dict(job)


@pytest.fixture(scope="module")
def inbox(settings: Settings) -> Path:
    """500 small documents in alice's area, in sub-folders; two are empty (unreadable)."""
    root = settings.resolved_data_roots[0] / "users" / "alice" / "inbox"
    texts = topic_folder_files(dict.fromkeys(LABELS, 300), words=8, seed=3)
    for index, text in enumerate(list(texts.values())[: DOCUMENTS - UNREADABLE]):
        path = root / f"box{index % 7}" / f"mail_{index:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for index in range(UNREADABLE):
        (root / f"blank_{index}.txt").write_text("")
    return root


def wait(
    client: TestClient, headers: dict[str, str], url: str, statuses: set[str], timeout: float = 600
) -> Any:
    deadline = time.monotonic() + timeout
    job: Any = None
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"{url} never reached {statuses}: {job}")


def submit(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    response = client.post("/api/v1/predictions", headers=headers, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def follow(client: TestClient, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    """The `job` events of a batch prediction until `end`."""
    events = []
    url = f"/api/v1/predictions/{job_id}/events"
    with client.stream("GET", url, headers=headers) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                events.append(json.loads(line.partition(":")[2]))
                if name == "end":
                    break
    return events


def csv_rows(client: TestClient, headers: dict[str, str], job: dict[str, Any]) -> list[Any]:
    response = client.get(job["files"]["csv"], headers=headers)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def jsonl_paths(settings: Settings, job_id: str) -> list[str]:
    lines = (output_dir(settings, job_id) / "predictions.jsonl").read_text().splitlines()
    return [json.loads(line)["path"] for line in lines]


def test_a_folder_is_classified_as_one_by_one_requests_would(
    client: TestClient, alice: dict[str, str], model: dict[str, Any], inbox: Path
) -> None:
    job = submit(client, alice, classifier="news", location=str(inbox))
    assert job["model_uri"] == "models:/alice.news/1" and job["run_id"] == model["run_id"]
    events = follow(client, alice, job["id"])
    done = events[-1]
    assert done["status"] == "completed", done
    assert done["progress"]["done"] == done["progress"]["total"] == DOCUMENTS
    assert done["progress"]["per_second"] > 0 and done["progress"]["seconds_left"] == 0
    summary = done["summary"]
    assert summary["total"] == DOCUMENTS and summary["unreadable"] == UNREADABLE
    assert sum(summary["labels"].values()) == DOCUMENTS - UNREADABLE
    assert {d["path"] for d in summary["unreadable_documents"]} == {"blank_0.txt", "blank_1.txt"}

    rows = csv_rows(client, alice, done)
    assert len(rows) == DOCUMENTS == len({row["path"] for row in rows})
    for row in rows[::5]:  # one request per document (a hundred of them)
        path = inbox / row["path"]
        if row["error"]:
            assert path.read_text() == "" and row["label"] == ""
            continue
        one = client.post(
            "/api/v1/classifiers/news/predict?version=1",
            headers=alice,
            json={"text": path.read_text()},
        ).json()
        assert float(row["score"]) == pytest.approx(one["score"], abs=SCORE_TOLERANCE)
        first, second = sorted(one["scores"].values(), reverse=True)[:2]
        if first - second > 2 * SCORE_TOLERANCE:  # else a near-tie may go either way
            assert row["label"] == one["label"], row["path"]


def test_the_files_are_kept_with_the_model_run(
    client: TestClient, alice: dict[str, str], model: dict[str, Any], inbox: Path
) -> None:
    job = submit(client, alice, run_id=model["run_id"], location=str(inbox), batch_size=64)
    done = wait(client, alice, f"/api/v1/predictions/{job['id']}", ENDED)
    assert done["status"] == "completed", done
    assert done["artifact_path"] == f"batch_predictions/{job['id']}"
    mlflow = client.app.state.runtime.registry.client  # type: ignore[attr-defined]
    kept = {
        Path(a.path).name for a in mlflow.list_artifacts(model["run_id"], done["artifact_path"])
    }
    assert kept == {"predictions.csv", "predictions.jsonl", "summary.json"}
    summary = client.get(done["files"]["summary"], headers=alice).json()
    assert summary["labels"] == done["summary"]["labels"]
    jsonl = client.get(done["files"]["jsonl"], headers=alice).text.splitlines()
    assert len(jsonl) == DOCUMENTS
    listed = client.get("/api/v1/predictions", headers=alice).json()
    assert job["id"] in {j["id"] for j in listed["data"]}
    trainings = client.get("/api/v1/jobs", headers=alice).json()["data"]
    assert job["id"] not in {j["id"] for j in trainings}


def _kill_when_lines(settings: Settings, client: TestClient, job_id: str, lines: int) -> int:
    """SIGKILL the job's worker once its JSONL holds `lines` lines; the lines there then."""
    jsonl = output_dir(settings, job_id) / "predictions.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= lines:
            with client.app.state.runtime.databases.metadata.session() as session:  # type: ignore[attr-defined]
                pid = session.get(JobRecord, job_id).worker_pid
            os.kill(pid, signal.SIGKILL)
            return jsonl.read_bytes().count(b"\n")
        time.sleep(0.005)
    raise AssertionError(f"job {job_id} never wrote {lines} predictions")


def test_a_killed_worker_resumes_without_duplicates(
    client: TestClient,
    alice: dict[str, str],
    model: dict[str, Any],
    inbox: Path,
    settings: Settings,
) -> None:
    job = submit(client, alice, classifier="news", location=str(inbox), batch_size=1)
    at_kill = _kill_when_lines(settings, client, job["id"], 20)
    assert 20 <= at_kill < DOCUMENTS
    done = wait(client, alice, f"/api/v1/predictions/{job['id']}", ENDED)
    assert done["status"] == "completed", done["history"]
    assert done["attempts"] == 2
    assert any("re-queued" in (entry["message"] or "") for entry in done["history"])
    assert done["summary"]["resumed"] >= at_kill - 1  # a torn last line is classified again
    paths = jsonl_paths(settings, job["id"])
    assert len(paths) == DOCUMENTS == len(set(paths))
    rows = csv_rows(client, alice, done)
    expected = {p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file()}
    assert [row["path"] for row in rows] == paths and set(paths) == expected


def test_a_cancelled_job_stops_and_offers_no_files(
    client: TestClient,
    alice: dict[str, str],
    model: dict[str, Any],
    inbox: Path,
    settings: Settings,
) -> None:
    job = submit(client, alice, classifier="news", version="1", location=str(inbox), batch_size=1)
    jsonl = output_dir(settings, job["id"]) / "predictions.jsonl"
    deadline = time.monotonic() + 300
    while not (jsonl.exists() and jsonl.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.01)
    cancelled = client.post(f"/api/v1/predictions/{job['id']}/cancel", headers=alice)
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
    done = wait(client, alice, f"/api/v1/predictions/{job['id']}", ENDED)
    assert done["status"] == "cancelled" and done["files"] is None
    assert len(jsonl_paths(settings, job["id"])) < DOCUMENTS
    again = client.post(f"/api/v1/predictions/{job['id']}/cancel", headers=alice)
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_cancellable"
    download = client.get(f"/api/v1/predictions/{job['id']}/files/csv", headers=alice)
    assert download.status_code == 409
    assert download.json()["error"]["code"] == "predictions_not_ready"


def test_an_uploaded_zip_is_classified(
    client: TestClient, alice: dict[str, str], model: dict[str, Any], tmp_path: Path
) -> None:
    files = {f"scans/{name}": text for name, text in topic_folder_files({"sport": 9}).items()}
    archive = make_zip(tmp_path / "scans.zip", files)
    with archive.open("rb") as upload:
        response = client.post(
            "/api/v1/prediction-uploads",
            headers=alice,
            data={"classifier": "news"},
            files={"file": ("scans.zip", upload, "application/zip")},
        )
    assert response.status_code == 202, response.text
    done = wait(client, alice, f"/api/v1/predictions/{response.json()['id']}", ENDED)
    assert done["status"] == "completed" and done["upload"] == "scans.zip"
    paths = sorted(row["path"] for row in csv_rows(client, alice, done))
    assert paths == sorted(name.removeprefix("scans/") for name in files)


BAD_BODIES = [
    ({"classifier": "nope", "location": "users/alice/inbox"}, 404, "classifier_not_found"),
    (
        {"classifier": "news", "version": "7", "location": "users/alice/inbox"},
        404,
        "model_not_found",
    ),
    (
        {"classifier": "news", "version": "old", "location": "users/alice/inbox"},
        404,
        "model_not_found",
    ),
    ({"run_id": "0" * 32, "location": "users/alice/inbox"}, 404, "model_not_found"),
    ({"classifier": "news", "location": "/etc"}, 422, "location_not_allowed"),
    ({"classifier": "news", "location": "users/bob/inbox"}, 422, "location_not_allowed"),
    ({"classifier": "news", "location": "users/alice/none"}, 422, "location_not_found"),
    ({"classifier": "news", "location": "users/alice/empty"}, 422, "invalid_request"),
    ({"classifier": "news", "run_id": "0" * 32, "location": "x"}, 422, "invalid_request"),
    ({"location": "users/alice/inbox"}, 422, "invalid_request"),
    ({"classifier": "news", "location": "x", "batch_size": 0}, 422, "invalid_request"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_BODIES)
def test_bad_requests_answer_stable_codes(
    client: TestClient,
    alice: dict[str, str],
    model: dict[str, Any],
    settings: Settings,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    (settings.resolved_data_roots[0] / "users" / "alice" / "empty").mkdir(exist_ok=True)
    response = client.post("/api/v1/predictions", headers=alice, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


BAD_ZIPS = [
    (b"not a zip at all", 422, "unsupported_upload"),
    ({"../escape.txt": "x"}, 422, "unsupported_upload"),
    ({"/abs.txt": "x"}, 422, "unsupported_upload"),
    ({"bomb.txt": b"0" * 20_000_000}, 413, "upload_too_large"),
]


@pytest.mark.parametrize(("content", "status", "code"), BAD_ZIPS)
def test_bad_zips_answer_stable_codes(
    client: TestClient,
    alice: dict[str, str],
    model: dict[str, Any],
    tmp_path: Path,
    content: bytes | dict[str, Any],
    status: int,
    code: str,
) -> None:
    data = (
        content
        if isinstance(content, bytes)
        else make_zip(tmp_path / "b.zip", content).read_bytes()
    )
    response = client.post(
        "/api/v1/prediction-uploads",
        headers=alice,
        data={"classifier": "news"},
        files={"file": ("b.zip", data, "application/zip")},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_unknown_jobs_and_files(
    client: TestClient, alice: dict[str, str], model: dict[str, Any]
) -> None:
    assert client.get("/api/v1/predictions/nope", headers=alice).status_code == 404
    training = client.get(f"/api/v1/predictions/{model['id']}", headers=alice)
    assert training.status_code == 404 and training.json()["error"]["code"] == "job_not_found"
    wrong = client.get(f"/api/v1/predictions/{model['id']}/files/exe", headers=alice)
    assert wrong.status_code == 422
    bob = api_headers(client.app, "bob")
    listed = client.get("/api/v1/predictions", headers=bob).json()
    assert listed == {"data": [], "count": 0}
