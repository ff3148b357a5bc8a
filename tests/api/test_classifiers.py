"""Creating a classifier: the cheap data checks answer 422 with the whole data report."""

from __future__ import annotations

from fastapi.testclient import TestClient

from custom_classifier.config import Settings
from factories import make_topic_folder


def test_an_invalid_dataset_answers_422_with_every_problem(
    client: TestClient, alice: dict[str, str], api_settings: Settings
) -> None:
    folder = make_topic_folder(
        api_settings.resolved_data_roots[0], {"sport": 6, "finance": 2}, name="thin"
    )
    (folder / "sport" / "empty.txt").write_text("")
    body = {"name": "news", "location": "thin", "labels": ["sport", "finance", "weather"]}

    response = client.post("/api/v1/classifiers", headers=alice, json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_dataset"
    report = error["details"]["report"]
    problems = " ".join(p["message"] for p in report["problems"])
    assert "weather" in problems and "finance" in problems
    assert len(report["problems"]) >= 2
    sport = next(label for label in report["labels"] if label["label"] == "sport")
    assert sport["used"] == 6 and sport["skipped"] == {"empty": 1}
    assert client.get("/api/v1/jobs", headers=alice).json()["count"] == 0


def test_a_location_outside_the_data_roots_answers_422(
    client: TestClient, alice: dict[str, str]
) -> None:
    body = {"name": "news", "location": "/etc", "labels": ["a", "b"]}

    response = client.post("/api/v1/classifiers", headers=alice, json=body)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "location_not_allowed"


def test_a_queued_job_is_cancelled_at_once(
    api_settings: Settings, alice: dict[str, str], client: TestClient
) -> None:
    client.app.state.runtime.queue.stop()  # type: ignore[attr-defined]  # keep it queued
    make_topic_folder(api_settings.resolved_data_roots[0], {"sport": 5, "finance": 5})
    body = {"name": "news", "location": "topics", "labels": ["sport", "finance"]}
    job = client.post("/api/v1/classifiers", headers=alice, json=body).json()

    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice).json()

    assert job["status"] == "queued"
    assert cancelled["status"] == "cancelled"
    assert [h["status"] for h in cancelled["history"]] == ["queued", "cancelled"]
    metrics = client.get("/metrics").text
    assert 'cc_jobs{state="cancelled"} 1.0' in metrics


def test_base_models_lists_the_presets_and_their_availability(
    client: TestClient, alice: dict[str, str]
) -> None:
    response = client.get("/api/v1/base-models", headers=alice)

    assert response.status_code == 200
    models = {m["name"]: m for m in response.json()["data"]}
    assert {"minilm", "smollm2-135m", "qwen3-0.6b"} <= set(models)
    assert models["minilm"]["available"] and models["minilm"]["kind"] == "encoder"
    assert models["qwen3-0.6b"]["fine_tuning"] == "lora"
    assert client.get("/api/v1/base-models").status_code == 401


def test_an_unavailable_base_model_answers_422_before_queueing(
    client: TestClient, alice: dict[str, str], api_settings: Settings
) -> None:
    make_topic_folder(api_settings.resolved_data_roots[0], {"sport": 5, "finance": 5})
    body = {"name": "news", "location": "topics", "labels": ["sport", "finance"]}

    missing = client.post(
        "/api/v1/classifiers", headers=alice, json=body | {"base_model": "/no/model.gguf"}
    )
    both = client.post(
        "/api/v1/classifiers",
        headers=alice,
        json=body | {"base_model": "minilm", "base_models": ["minilm"]},
    )
    unavailable = client.post(
        "/api/v1/classifiers",
        headers=alice,
        json=body | {"base_models": ["minilm", "smollm2-135m"]},
    )

    assert (
        missing.status_code == 422 and missing.json()["error"]["code"] == "base_model_unavailable"
    )
    assert both.status_code == 422 and "not both" in both.json()["error"]["message"]
    assert unavailable.status_code == 422
    assert "models fetch" in unavailable.json()["error"]["message"]
    assert client.get("/api/v1/jobs", headers=alice).json()["count"] == 0
