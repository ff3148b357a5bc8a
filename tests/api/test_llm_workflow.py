"""A decoder LLM classifier from a GGUF file, through the API: trained with LoRA, judged by the
gate, registered, and predicting by run id and by name on the CPU. Slow: minutes on 2 cores."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, make_topic_folder

pytestmark = pytest.mark.slow
SPORT = "football match goal striker league team stadium"


def wait_for_end(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("accepted", "rejected", "failed", "cancelled"):
            return dict(job)
        time.sleep(1)
    raise AssertionError(f"job {job_id} did not end: {job}")


def test_a_decoder_from_a_gguf_file_trains_through_the_api_and_predicts_on_cpu(
    smollm2_gguf: Path, smollm2_folder: Path, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", min_docs_per_label=8)
    settings.models_dir.mkdir(parents=True)
    # The dequantized folder is cached across sessions: this install finds it under its name.
    (settings.models_dir / smollm2_folder.name).symlink_to(smollm2_folder)
    make_topic_folder(settings.resolved_data_roots[0], {"sport": 10, "finance": 10})
    body = {
        "name": "news-llm",
        "location": "topics",
        "labels": ["sport", "finance"],
        "base_model": str(smollm2_gguf),
        "training": {"epochs": 1, "max_length": 64, "batch_size": 8, "export_onnx": False},
        "acceptance": {"min_macro_f1": 0.0, "min_label_f1": 0.0},
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        alice = api_headers(client.app, "alice")
        created = client.post("/api/v1/classifiers", headers=alice, json=body)
        assert created.status_code == 202, created.text

        job = wait_for_end(client, alice, created.json()["id"])

        assert job["status"] == "accepted", job
        assert job["base_model"] == str(smollm2_gguf)
        run_id = job["run_id"]
        by_run = client.post(
            f"/api/v1/models/{run_id}/predict", headers=alice, json={"text": SPORT}
        )
        by_name = client.post(
            "/api/v1/classifiers/news-llm/predict", headers=alice, json={"texts": [SPORT, "bank"]}
        )
    assert by_run.status_code == 200, by_run.text
    assert by_run.json()["label"] in ("sport", "finance")
    assert by_name.status_code == 200, by_name.text
    assert [p["label"] in ("sport", "finance") for p in by_name.json()] == [True, True]
    mlflow = MlflowClient(settings.resolved_tracking_uri)
    adapter = {Path(a.path).name for a in mlflow.list_artifacts(run_id, "adapter")}
    assert {"adapter_config.json", "adapter_model.safetensors", "base_model.json"} <= adapter
