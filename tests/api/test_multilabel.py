"""Multi-label classifiers end to end: the real app, embedded runner, MLflow store, a tiny model.

A folder where some documents sit in two label folders trains in multi-label mode (asked for,
or chosen by `auto`), passes the gate against the one-vs-rest baseline, registers, and predicts
label lists; thresholds given with a request override the tuned ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, make_multilabel_documents
from support.job_events import train_until_ended

LABELS = ["sport", "finance", "cooking"]
GROUPS = {("sport",): 14, ("finance",): 14, ("cooking",): 14, ("sport", "finance"): 14}
LEARNS = {
    "test_fraction": 0.3,
    "validation_fraction": 0.2,
    "max_length": 32,
    "batch_size": 8,
    "epochs": 14,
    "learning_rate": 5e-3,
    "warmup_ratio": 0.0,
    "early_stopping_patience": 14,
}
LENIENT = {"min_macro_f1": 0.5, "min_label_f1": 0.3}


def write_shared_folder(root: Path) -> None:
    """Each document in the folder of every label it carries (the same file content)."""
    for document in make_multilabel_documents(GROUPS, words=14, seed=5):
        for label in document.label_set:
            path = root / label / f"{'-'.join(document.label_set)}-{Path(document.id).name}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(document.text, encoding="utf-8")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("multilabel-home")
    settings = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    write_shared_folder(settings.resolved_data_roots[0] / "shared")
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


def _train(client: TestClient, headers: dict[str, str], name: str, **options: Any) -> Any:
    body = {"name": name, "location": "shared", "labels": LABELS, **options}
    return train_until_ended(client, headers, body, timeout=400)


@pytest.fixture(scope="module")
def trained(client: TestClient, alice: dict[str, str]) -> Any:
    return _train(client, alice, "topics", training=LEARNS, acceptance=LENIENT)


def test_auto_reads_shared_documents_as_multi_label_and_says_so(trained: Any) -> None:
    report = trained["data_report"]
    assert report["mode"] == "multi"
    assert report["shared_documents"] == 14
    assert "mode auto chose 'multi': 14 of 56 documents" in report["mode_note"]


def test_a_multi_label_training_is_gated_and_registered(trained: Any) -> None:
    assert trained["status"] == "accepted", trained
    metrics, gate = trained["metrics"], trained["gate"]
    assert metrics["multi_label"] is True
    assert metrics["micro_f1"] > 0.5 and metrics["hamming_loss"] < 0.3
    assert set(metrics["label_confusion"]) == set(LABELS)
    assert trained["baseline"]["multi_label"] is True  # the one-vs-rest TF-IDF baseline
    assert gate["baseline"]["verdict"] != "significant regression"
    assert gate["calibration"] is None
    assert gate["served"]["int8_macro_f1"] is not None  # the int8 ONNX file was judged too
    assert set(gate["thresholds"]) == set(LABELS)
    assert all(0 < t < 1 for t in gate["thresholds"].values())


def test_the_registered_classifier_predicts_label_lists(
    client: TestClient, alice: dict[str, str], trained: Any
) -> None:
    texts = ["football goal match team player coach league score bank market stock bond"]
    answer = client.post("/api/v1/classifiers/topics/predict", headers=alice, json={"texts": texts})
    assert answer.status_code == 200, answer.text
    (prediction,) = answer.json()
    assert sorted(prediction["labels"]) == ["finance", "sport"]
    assert prediction["label"] == prediction["labels"][0]
    assert set(prediction["scores"]) == set(LABELS)


def test_thresholds_in_a_request_override_the_tuned_ones(
    client: TestClient, alice: dict[str, str], trained: Any
) -> None:
    body = {"text": "recipe oven flour sugar", "thresholds": dict.fromkeys(LABELS, 1.0)}
    answer = client.post("/api/v1/classifiers/topics/predict", headers=alice, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == [] and answer.json()["abstained"] is True
    unknown = client.post(
        "/api/v1/classifiers/topics/predict",
        headers=alice,
        json={"text": "recipe", "thresholds": {"weather": 0.5}},
    )
    assert unknown.status_code == 422
    assert "weather" in unknown.json()["error"]["message"]


def test_the_report_shows_multi_label_scores_and_the_per_label_confusion(
    client: TestClient, alice: dict[str, str], trained: Any
) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    key = alice["Authorization"].removeprefix("Bearer ")
    form = {"api_key": key, "csrf_token": token.group(1), "next": "/ui/"}
    assert client.post("/ui/login", data=form, follow_redirects=False).status_code == 303

    report = client.get(f"/ui/jobs/{trained['id']}/report")

    assert report.status_code == 200, report.text[:300]
    assert 'id="label-confusion"' in report.text and 'id="confusion"' not in report.text
    assert "Subset accuracy" in report.text and "Hamming loss" in report.text
    assert 'id="gate-thresholds"' in report.text
    assert "Read as multi-label: 14 documents sit in more than one label folder" in report.text
    page = client.get("/ui/classifiers/topics")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    text = "football goal match team player coach league score bank market stock bond"
    tried = client.post(
        "/ui/classifiers/topics/predict", data={"text": text, "csrf_token": token.group(1)}
    )
    assert tried.status_code == 200
    shown = re.search(r'id="predicted-labels">([^<]+)<', tried.text)
    assert shown is not None and sorted(shown.group(1).split(", ")) == ["finance", "sport"]
