"""Estimates that fit the data size, end to end: the real app, embedded runner and MLflow store.

A small data set (2 labels x 40 documents: 4 test documents per label) trained with the default
`evaluation: auto` and the machine's 300-second budget is cross-validated, and every place a
user reads says so: the job's gate, the MLflow run and the report page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, make_topic_folder

LABELS = ["sport", "finance"]
PER_LABEL = 40
TINY = {"epochs": 6, "max_length": 32, "batch_size": 8, "learning_rate": 3e-3, "warmup_ratio": 0.0}
THRESHOLDS_OFF = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
TERMINAL = {"accepted", "rejected", "failed", "cancelled"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Settings:
    return Settings(
        home=tmp_path_factory.mktemp("evaluation-home"),
        min_docs_per_label=5,
        base_model=str(tiny_base_model),
        kfold_budget_seconds=300,  # the product's default (the suite's conftest sets 0)
    )


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    make_topic_folder(settings.resolved_data_roots[0], dict.fromkeys(LABELS, PER_LABEL))
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


@pytest.fixture(scope="module")
def job(client: TestClient, alice: dict[str, str]) -> Any:
    body = {"name": "small", "location": "topics", "labels": LABELS, "training": TINY}
    created = client.post(
        "/api/v1/classifiers", headers=alice, json=body | {"acceptance": THRESHOLDS_OFF}
    )
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{created.json()['id']}", headers=alice).json()
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.2)
    raise AssertionError(f"the training never ended: {job}")


def test_a_small_data_set_is_cross_validated_and_says_why(job: Any) -> None:
    assert job["status"] == "accepted", job
    gate = job["gate"]
    evaluation = gate["evaluation"]
    assert evaluation["method"] == "kfold" and evaluation["folds"] == 5
    assert "held-out test split is small" in evaluation["reason"]
    assert "fits the budget" in evaluation["reason"] and "of 300 s" in evaluation["reason"]
    assert evaluation["documents"] == 72  # train+test: 80 less 8 validation documents
    # The intervals and the baseline's paired test are on the out-of-fold documents.
    assert gate["intervals"]["documents"] == gate["baseline"]["documents"] == 72
    assert sum(s["support"] for s in job["metrics"]["per_label"].values()) == 72
    macro = gate["intervals"]["macro_f1"]
    assert macro["low"] <= job["metrics"]["macro_f1"] <= macro["high"]
    assert gate["champion"] is None and gate["holdout"]["macro_f1"] is not None


def test_the_mlflow_run_records_the_evaluation_used(job: Any, settings: Settings) -> None:
    run = MlflowClient(settings.resolved_tracking_uri).get_run(job["run_id"])

    assert run.data.tags["cc.evaluation"] == "kfold"
    assert "small" in run.data.tags["cc.evaluation_reason"]
    assert run.data.params["evaluation"] == "auto"
    assert run.data.params["evaluation_used"] == "kfold"
    assert "holdout_macro_f1" in run.data.metrics and "time_kfold_seconds" in run.data.metrics


def test_the_report_page_says_k_fold_and_shows_intervals(
    client: TestClient, alice: dict[str, str], job: Any
) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    key = alice["Authorization"].removeprefix("Bearer ")
    form = {"api_key": key, "csrf_token": token.group(1), "next": "/ui/"}
    assert client.post("/ui/login", data=form, follow_redirects=False).status_code == 303

    text = client.get(f"/ui/jobs/{job['id']}/report").text

    assert "Estimated by 5-fold cross-validation" in text
    assert "The held-out test split is small" in text
    for key in ("macro_f1", "accuracy"):
        assert f'id="interval-{key}"' in text
    assert text.count("–") >= 2 and "72 out-of-fold documents" in text
    for label in LABELS:
        row = re.search(rf'<th scope="row">{label}</th>.*?</tr>', text, re.S)
        assert row is not None and re.search(r"\[\d\.\d{3}–\d\.\d{3}\]", row.group(0)), label
