"""Nested label folders through the API, with the real embedded job runner and MLflow store:
the data report shows the tree; a two-level tree trains at depth 1 and as hierarchical, and
both predict (the hierarchical one with the path and a score per level)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, distinct_texts, make_labeled_folder, make_topic_folder
from support.job_events import train_until_ended

# The tiny model learns these topics in a few epochs at this rate (tests/api/test_gate.py).
FAST = {
    "test_fraction": 0.3,
    "validation_fraction": 0.2,
    "max_length": 32,
    "batch_size": 8,
    "epochs": 20,
    "learning_rate": 3e-3,
    "warmup_ratio": 0.0,
    "early_stopping_patience": 20,
}
ACCEPT_ANY = {"min_macro_f1": 0.0, "min_label_f1": 0.0, "beat_baseline": False}
TERMINAL = {"accepted", "rejected", "failed", "cancelled"}
SPORT_TEXT = "football goal match team player coach league score stadium referee"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Iterator[TestClient]:
    """`topics`: leisure/{sport, cooking} and finance (a leaf at the top), 40 documents each."""
    home = tmp_path_factory.mktemp("tree-home")
    settings = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    tree = make_topic_folder(
        settings.resolved_data_roots[0], dict.fromkeys(["sport", "cooking", "finance"], 40)
    )
    (tree / "leisure").mkdir()
    for leaf in ("sport", "cooking"):
        (tree / leaf).rename(tree / "leisure" / leaf)
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


def _train(client: TestClient, headers: dict[str, str], name: str, **training: Any) -> Any:
    body = {
        "name": name,
        "location": "topics",
        "labels": ["leisure", "finance"],
        "training": {**FAST, **training},
        "acceptance": ACCEPT_ANY,
    }
    return train_until_ended(client, headers, body, timeout=300)


def _predict(client: TestClient, headers: dict[str, str], name: str, text: str) -> Any:
    answer = client.post(
        f"/api/v1/classifiers/{name}/predict", headers=headers, json={"text": text}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_data_report_shows_the_tree_with_counts_per_node(
    client: TestClient, alice: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/datasets/report", headers=alice, json={"location": "topics", "depth": 2}
    )

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [label["label"] for label in report["labels"]] == [
        "finance",
        "leisure/cooking",
        "leisure/sport",
    ]
    assert report["problems"] == [] and report["depth"] == 2
    finance, leisure = report["tree"]
    assert (leisure["label"], leisure["documents"], leisure["used"]) == ("leisure", 80, 80)
    assert leisure["trained"] is False and finance["trained"] is True
    assert [(c["name"], c["used"], c["trained"]) for c in leisure["children"]] == [
        ("cooking", 40, True),
        ("sport", 40, True),
    ]


def test_a_node_short_of_documents_is_named_before_anything_is_queued(
    client: TestClient, alice: dict[str, str]
) -> None:
    root = client.app.state.runtime.settings.resolved_data_roots[0]  # type: ignore[attr-defined]
    make_labeled_folder(
        root,
        {"a/x": distinct_texts("x", 6), "a/y": distinct_texts("y", 2), "b": distinct_texts("b", 6)},
        name="short",
    )
    body = {"name": "short", "location": "short", "labels": ["a", "b"]}

    at_top = client.post(
        "/api/v1/datasets/report", headers=alice, json={"location": "short", "depth": 1}
    )
    below = client.post(
        "/api/v1/classifiers", headers=alice, json=body | {"training": {"depth": 2}}
    )

    assert at_top.json()["problems"] == []
    assert below.status_code == 422, below.text
    error = below.json()["error"]
    assert error["code"] == "invalid_dataset"
    (problem,) = error["details"]["report"]["problems"]
    assert problem["label"] == "a/y"
    assert "label folder 'a/y' has 2 usable documents" in problem["message"]


def test_depth_1_trains_the_top_level_and_predicts_flat(
    client: TestClient, alice: dict[str, str]
) -> None:
    job = _train(client, alice, "top-level", depth=1)

    assert job["status"] == "accepted", job
    assert job["labels"] == ["leisure", "finance"]
    prediction = _predict(client, alice, "top-level", SPORT_TEXT)
    assert set(prediction) == {"label", "score", "abstained", "scores"}
    assert set(prediction["scores"]) == {"leisure", "finance"}
    assert prediction["label"] == "leisure"


@pytest.fixture(scope="module")
def hierarchical_job(client: TestClient, alice: dict[str, str]) -> Any:
    return _train(client, alice, "paths", hierarchical=True)


def test_hierarchical_trains_the_leaves_and_predicts_the_path(
    client: TestClient, alice: dict[str, str], hierarchical_job: Any
) -> None:
    job = hierarchical_job

    assert job["status"] == "accepted", job
    assert job["labels"] == ["leisure/cooking", "leisure/sport", "finance"]
    prediction = _predict(client, alice, "paths", SPORT_TEXT)
    assert prediction["label"] == "leisure/sport"
    top, leaf = prediction["path"]
    scores = prediction["scores"]
    assert top["label"] == "leisure"
    assert top["score"] == pytest.approx(scores["leisure/sport"] + scores["leisure/cooking"])
    assert leaf == {"label": "leisure/sport", "score": pytest.approx(scores["leisure/sport"])}
    assert prediction["score"] == pytest.approx(leaf["score"])


def test_the_ui_shows_the_path_of_a_prediction_and_the_tree_in_the_report(
    client: TestClient, alice: dict[str, str], hierarchical_job: Any
) -> None:
    login = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    key = alice["Authorization"].removeprefix("Bearer ")
    form = {"api_key": key, "csrf_token": token.group(1), "next": "/ui/"}
    assert client.post("/ui/login", data=form, follow_redirects=False).status_code == 303
    page = client.get("/ui/classifiers/paths")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None

    answer = client.post(
        "/ui/classifiers/paths/predict",
        data={"text": SPORT_TEXT, "csrf_token": csrf.group(1)},
        headers={"X-Requested-With": "fetch"},  # the fragment the page shows
    )

    assert answer.status_code == 200, answer.text[:500]
    path = re.search(r'<ol class="label-path" id="predicted-path".*?</ol>', answer.text, re.S)
    assert path is not None, answer.text[:1000]
    assert re.findall(r"<strong>(\w+)</strong>", path.group(0)) == ["leisure", "sport"]
    report = client.get(f"/ui/jobs/{hierarchical_job['id']}/report")
    assert report.status_code == 200, report.text[:500]
    tree = report.text[report.text.index('id="report-tree"') :]
    assert 'data-node="leisure/sport"' in tree and 'data-node="finance"' in tree


def test_a_batch_job_keeps_the_path_of_each_hierarchical_prediction(
    client: TestClient, alice: dict[str, str], hierarchical_job: Any
) -> None:
    root = client.app.state.runtime.settings.resolved_data_roots[0]  # type: ignore[attr-defined]
    body = {"classifier": "paths", "location": str(root / "topics" / "leisure" / "sport")}
    created = client.post("/api/v1/predictions", headers=alice, json=body)
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 300
    while (job := client.get(f"/api/v1/predictions/{created.json()['id']}", headers=alice).json())[
        "status"
    ] not in TERMINAL | {"completed"} and time.monotonic() < deadline:
        time.sleep(0.2)

    assert job["status"] == "completed", job
    lines = client.get(job["files"]["jsonl"], headers=alice).text.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 40
    for row in rows:
        assert [step["label"] for step in row["label_path"]][-1] == row["label"]
        assert row["label_path"][0]["score"] >= row["label_path"][-1]["score"]
