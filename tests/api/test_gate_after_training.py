"""The gate across trainings and after them, end to end: the real app, embedded runner (a child
process per training), MLflow store and a tiny model.

A classifier trained again from a folder that has grown tests on its champion's test documents
again (and says how many it shares); `min_score` set later on an alias makes that alias's
predictions abstain and leaves the other alias alone; an int8 file whose quantized weights are
scrambled after the export makes the model serve the exact backend, recorded in the model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from custom_classifier.inference.classifier_folder import ONNX_FILE, read_settings
from custom_classifier.registry.test_documents import TEST_DOCUMENTS_ARTIFACT
from factories import FROZEN_LEARNING_RATE, api_headers, make_topic_folder, topic_folder_files
from support.job_events import train_until_ended

LABELS = ["sport", "finance"]
SPLIT = {"test_fraction": 0.25, "validation_fraction": 0.25, "max_length": 32, "batch_size": 8}
FROZEN = {**SPLIT, "epochs": 1, "learning_rate": FROZEN_LEARNING_RATE}
LEARNS = {**SPLIT, "epochs": 12, "learning_rate": 3e-3, "warmup_ratio": 0.0}
ALWAYS_ACCEPTED = {"min_macro_f1": 0.0, "min_label_f1": 0.0, "beat_baseline": False}
CORRUPTING_SITE = Path(__file__).parents[1] / "support" / "corrupt_int8"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Settings:
    home = tmp_path_factory.mktemp("gate-after-home")
    settings = Settings(home=home, min_docs_per_label=5, base_model=str(tiny_base_model))
    make_topic_folder(settings.resolved_data_roots[0], dict.fromkeys(LABELS, 24))
    return settings


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture(scope="module")
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


def _train(
    client: TestClient,
    headers: dict[str, str],
    name: str,
    training: Any,
    location: str = "topics",
) -> Any:
    body = {
        "name": name,
        "location": location,
        "labels": LABELS,
        "training": training,
        "acceptance": ALWAYS_ACCEPTED,
    }
    return train_until_ended(client, headers, body, timeout=400)


def _test_documents(client: TestClient, run_id: str) -> dict[str, str]:
    """sha256 -> path, as the run recorded them in MLflow."""
    registry = client.app.state.runtime.registry  # type: ignore[attr-defined]
    text = registry.client.download_artifacts(run_id, TEST_DOCUMENTS_ARTIFACT)
    row = json.loads(Path(text).read_text(encoding="utf-8"))
    return {d["sha256"]: d["path"] for d in row["documents"]}


@pytest.fixture(scope="module")
def first(client: TestClient, alice: dict[str, str]) -> Any:
    return _train(client, alice, "news", FROZEN)


@pytest.fixture(scope="module")
def second(client: TestClient, alice: dict[str, str], settings: Settings, first: Any) -> Any:
    """`news` trained again after 12 more documents per label were added to its folder."""
    assert first["status"] == "accepted", first
    folder = settings.resolved_data_roots[0] / "topics"
    for relative, text in topic_folder_files(dict.fromkeys(LABELS, 12), seed=7).items():
        label, _, file_name = relative.partition("/")
        (folder / label / f"added_{file_name}").write_text(text, encoding="utf-8")
    return _train(client, alice, "news", FROZEN)


def test_a_grown_folder_is_tested_again_on_the_champions_test_documents(
    client: TestClient, first: Any, second: Any
) -> None:
    assert second["status"] == "accepted", second
    before = _test_documents(client, first["run_id"])
    after = _test_documents(client, second["run_id"])

    assert set(before) <= set(after)
    assert all(after[sha] == path for sha, path in before.items())
    assert len(after) == 2 * 9  # 36 documents per label now: 9 of each are test documents
    new = set(after.values()) - set(before.values())  # from the added files, never trained on
    assert new and all(path.split("/")[1].startswith("added_") for path in new)
    shared = second["gate"]["shared_test"]
    assert shared == {
        "champion_version": 1,
        "champion_documents": len(before),
        "shared": len(before),
        "test_documents": len(after),
    }
    assert first["gate"]["shared_test"] is None


def test_min_score_set_on_an_alias_makes_it_abstain_and_leaves_the_other_alone(
    client: TestClient, alice: dict[str, str], second: Any
) -> None:
    assert second["gate"]["alias"] == "champion"  # no measurable change: promoted
    moved = client.put("/api/v1/classifiers/news/aliases/first", headers=alice, json={"version": 1})
    assert moved.status_code == 200, moved.text
    url = "/api/v1/classifiers/news/predict"
    text = {"text": "goal match team"}
    assert client.post(url, headers=alice, json=text).json()["abstained"] is False

    changed = client.put(
        "/api/v1/classifiers/news/aliases/champion/min-score", headers=alice, json={"min_score": 1}
    )

    assert changed.status_code == 200, changed.text
    versions = {v["version"]: v for v in changed.json()["versions"]}
    assert versions[2]["min_score"] == 1.0 and versions[1]["min_score"] == 0.0
    champion = client.post(url, headers=alice, json=text).json()
    assert champion["label"] is None and champion["abstained"] is True
    assert set(champion["scores"]) == set(LABELS)
    assert sum(champion["scores"].values()) == pytest.approx(1.0)
    other = client.post(f"{url}?version=first", headers=alice, json=text).json()
    assert other["abstained"] is False and other["label"] in LABELS


def _sign_in(client: TestClient, headers: dict[str, str]) -> None:
    page = client.get("/ui/login")
    form = {
        "api_key": headers["Authorization"].removeprefix("Bearer "),
        "csrf_token": _csrf(page.text),
        "next": "/ui/",
    }
    assert client.post("/ui/login", data=form, follow_redirects=False).status_code == 303


def _csrf(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return token.group(1)


def test_the_report_shows_the_shared_test_documents_and_the_reliability_diagrams(
    client: TestClient, alice: dict[str, str], first: Any, second: Any
) -> None:
    _sign_in(client, alice)

    report = client.get(f"/ui/jobs/{second['id']}/report")

    assert report.status_code == 200, report.text[:300]
    shared = re.search(r'id="gate-shared-test">([^<]+)', report.text)
    assert shared is not None
    assert shared.group(1).startswith(f"{len(_test_documents(client, first['run_id']))} of these")
    for split in ("validation", "test"):
        diagram = re.search(rf'id="reliability-{split}">(.+?)</figure>', report.text, re.DOTALL)
        assert diagram is not None and "<svg" in diagram.group(1)
        bins = second["gate"]["calibration"]["reliability"][split]
        for state in ("before", "after"):
            drawn = diagram.group(1).count(f'<circle class="reliability-{state}"')
            assert drawn == len(bins[state]) > 0


def test_the_classifier_page_sets_an_aliass_min_score(
    client: TestClient, alice: dict[str, str], second: Any
) -> None:
    _sign_in(client, alice)
    page = client.get("/ui/classifiers/news")
    assert 'action="/ui/classifiers/news/aliases/champion/min-score"' in page.text
    form = {"csrf_token": _csrf(page.text), "min_score": "0.25"}

    answer = client.post(
        "/ui/classifiers/news/aliases/champion/min-score", data=form, follow_redirects=False
    )
    refused = client.post(
        "/ui/classifiers/news/aliases/champion/min-score", data={**form, "min_score": "2"}
    )

    assert answer.status_code == 303, answer.text[:300]
    versions = client.get("/api/v1/classifiers/news", headers=alice).json()["versions"]
    assert {v["version"]: v["min_score"] for v in versions}[2] == 0.25
    assert refused.status_code == 422 and "between 0" in refused.text


@pytest.mark.parametrize(
    ("alias", "body", "status", "code"),
    [
        ("champion", {"min_score": 1.5}, 422, "invalid_request"),
        ("champion", {"min_score": -0.1}, 422, "invalid_request"),
        ("champion", {"min_score": "0.5"}, 422, "invalid_request"),
        ("nowhere", {"min_score": 0.5}, 404, "model_not_found"),
    ],
)
def test_a_min_score_out_of_bounds_or_on_a_missing_alias_is_refused(
    client: TestClient,
    alice: dict[str, str],
    second: Any,
    alias: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    url = f"/api/v1/classifiers/news/aliases/{alias}/min-score"

    answer = client.put(url, headers=alice, json=body)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    if status == 404:
        assert "champion" in answer.json()["error"]["message"]  # the aliases it has


def test_an_int8_file_that_disagrees_makes_the_model_serve_the_exact_backend(
    client: TestClient, alice: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder of its own: the module's other tests grow `topics`, and on that grown folder
    # LEARNS could end predicting one label everywhere, which scrambled weights also do.
    make_topic_folder(settings.resolved_data_roots[0], dict.fromkeys(LABELS, 24), name="int8")
    paths = [str(CORRUPTING_SITE), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    monkeypatch.setenv("CORRUPT_INT8_WEIGHTS", "1")

    job = _train(client, alice, "scrambled", LEARNS, location="int8")

    assert job["status"] == "accepted", job
    served = job["gate"]["served"]
    assert served["exact_macro_f1"] > 0.5, served  # the model learned: a disagreement can show
    assert served["backend"] == served["exact_backend"] != "onnx"
    assert served["int8_macro_f1"] is not None and "int8 ONNX file" in served["reason"]
    assert served["reason"] in job["gate"]["notes"]
    registry = client.app.state.runtime.registry  # type: ignore[attr-defined]
    local = Path(registry.client.download_artifacts(job["run_id"], "model"))
    folder = next(local.rglob("classifier.json")).parent
    assert read_settings(folder)["served"] == {"cpu_backend": "torch", "reason": served["reason"]}
    assert not (folder / ONNX_FILE).exists()
    predictor = client.app.state.runtime.predictor  # type: ignore[attr-defined]
    assert predictor.classifier("models:/alice.scrambled@champion").backend == "torch"
