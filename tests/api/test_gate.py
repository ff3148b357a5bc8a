"""The acceptance gate end to end: the real app, embedded runner, MLflow store, a tiny model.

A model significantly worse than its TF-IDF baseline is rejected with that reason; a second
training significantly worse than the champion is registered as `challenger` and `champion`
stays; a classifier trained with a `min_score` above its scores answers "unsure".
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
from factories import FROZEN_LEARNING_RATE, api_headers, make_topic_folder
from support.job_events import train_until_ended

LABELS = ["sport", "finance"]
# 32 test documents: enough for a paired test to tell a model right on half of them from one
# right on all. The tiny model learns these topics in about 6 epochs at this rate.
SPLIT = {"test_fraction": 0.4, "validation_fraction": 0.2, "max_length": 32, "batch_size": 8}
LEARNS = {
    **SPLIT,
    "epochs": 20,
    "learning_rate": 3e-3,
    "warmup_ratio": 0.0,
    "early_stopping_patience": 20,
}
FROZEN = {**SPLIT, "epochs": 1, "learning_rate": FROZEN_LEARNING_RATE}
THRESHOLDS_OFF = {"min_macro_f1": 0.0, "min_label_f1": 0.0}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("gate-home")
    settings = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    make_topic_folder(settings.resolved_data_roots[0], dict.fromkeys(LABELS, 40))
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


def _train(client: TestClient, headers: dict[str, str], name: str, **options: Any) -> Any:
    body = {"name": name, "location": "topics", "labels": LABELS, **options}
    return train_until_ended(client, headers, body, timeout=300)


@pytest.fixture(scope="module")
def champion(client: TestClient, alice: dict[str, str]) -> Any:
    return _train(client, alice, "news", training=LEARNS, acceptance=THRESHOLDS_OFF)


def test_a_model_worse_than_its_baseline_is_rejected_with_by_how_much(
    client: TestClient, alice: dict[str, str]
) -> None:
    job = _train(client, alice, "frozen", training=FROZEN, acceptance=THRESHOLDS_OFF)

    assert job["status"] == "rejected", job
    gate = job["gate"]
    assert gate["baseline"]["verdict"] == "significant regression"
    (reason,) = job["reasons"]
    assert "significantly worse than the TF-IDF baseline" in reason
    assert f"{-gate['baseline']['difference']:.3f} below" in reason
    intervals = gate["intervals"]["macro_f1"]
    assert intervals["low"] <= job["metrics"]["macro_f1"] <= intervals["high"]
    classifiers = client.get("/api/v1/classifiers", headers=alice).json()
    assert "frozen" not in str(classifiers)


@pytest.fixture(scope="module")
def challenger(client: TestClient, alice: dict[str, str], champion: Any) -> Any:
    """A frozen model trained again under the champion's name, with an abstain threshold."""
    options = {**FROZEN, "min_score": 1.0}
    acceptance = {**THRESHOLDS_OFF, "beat_baseline": False}
    return _train(client, alice, "news", training=options, acceptance=acceptance)


def test_a_challenger_worse_than_the_champion_leaves_the_champion(
    client: TestClient, alice: dict[str, str], champion: Any, challenger: Any
) -> None:
    assert champion["status"] == "accepted", champion
    assert champion["gate"]["alias"] == "champion"

    assert challenger["status"] == "accepted", challenger
    gate = challenger["gate"]
    assert gate["champion"]["verdict"] == "significant regression"
    assert gate["champion_version"] == 1
    assert gate["alias"] == "challenger" and gate["promoted"] is False
    assert any("'challenger'" in note for note in gate["notes"])
    news = client.get("/api/v1/classifiers/news", headers=alice).json()
    assert news["aliases"] == {"champion": 1, "challenger": 2}


def test_a_prediction_below_min_score_abstains(
    client: TestClient, alice: dict[str, str], challenger: Any
) -> None:
    url = "/api/v1/classifiers/news/predict?version=challenger"
    answer = client.post(url, headers=alice, json={"text": "football goal"})
    champion = client.post("/api/v1/classifiers/news/predict", headers=alice, json={"text": "x"})

    assert answer.status_code == 200, answer.text
    prediction = answer.json()
    assert prediction["label"] is None
    assert prediction["abstained"] is True
    assert set(prediction["scores"]) == set(LABELS)
    assert champion.json()["abstained"] is False  # min_score belongs to the version


def test_the_report_page_shows_intervals_verdicts_and_the_challenger(
    client: TestClient, alice: dict[str, str], challenger: Any
) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    key = alice["Authorization"].removeprefix("Bearer ")
    form = {"api_key": key, "csrf_token": token.group(1), "next": "/ui/"}
    assert client.post("/ui/login", data=form, follow_redirects=False).status_code == 303

    report = client.get(f"/ui/jobs/{challenger['id']}/report")

    assert report.status_code == 200, report.text[:300]
    text = report.text
    assert 'id="interval-macro_f1"' in text and "95 % interval" in text
    assert "as <code>challenger</code>" in text
    assert "significant regression" in text  # against the champion
    assert 'id="gate-calibration"' in text and 'id="gate-served"' in text
