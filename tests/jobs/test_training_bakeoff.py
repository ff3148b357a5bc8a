"""A bake-off through the training use case, with a real MLflow store and two tiny models."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from mlflow import MlflowClient

from custom_classifier.config import Settings
from custom_classifier.jobs.contract import TrainingRequest
from custom_classifier.jobs.training_run import run_training
from custom_classifier.training.arguments import AcceptanceCriteria, Progress, TrainingArguments
from factories import make_topic_folder

ARGS = TrainingArguments(
    epochs=3,
    learning_rate=1e-2,
    lora_learning_rate=2e-2,
    batch_size=8,
    max_length=32,
    warmup_ratio=0.0,
    export_onnx=False,
)


def all_artifacts(client: MlflowClient, run_id: str, path: str) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        found += all_artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def test_a_bakeoff_trains_each_candidate_in_a_child_run_and_registers_the_winner(
    tiny_base_model: Path, tiny_llama: Path, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", min_docs_per_label=10)
    folder = make_topic_folder(tmp_path / "data", {"sport": 20, "finance": 20})
    progress: list[Progress] = []
    request = TrainingRequest(
        name="news",
        location=str(folder),
        labels=["sport", "finance"],
        owner="alice",
        base_models=(str(tiny_base_model), str(tiny_llama)),
        training=replace(ARGS),
        acceptance=AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.0),
    )

    outcome = run_training(request, settings, on_progress=progress.append)

    table = outcome.bakeoff
    assert table is not None and [row["name"] for row in table] == list(request.base_models)
    assert sum(row["winner"] for row in table) == 1
    winner = next(row for row in table if row["winner"])
    assert outcome.base_model == winner["name"]
    assert all(row["cpu_ms_per_document"] > 0 and row["size_bytes"] > 0 for row in table)
    assert {row["kind"] for row in table} == {"encoder", "decoder"}
    assert outcome.accepted and outcome.registered_model is not None

    client = MlflowClient(settings.resolved_tracking_uri)
    children = [client.get_run(row["run_id"]) for row in table]
    assert all(c.data.tags["mlflow.parentRunId"] == outcome.run_id for c in children)
    assert [c.data.tags["cc.candidate"] for c in children] == list(request.base_models)
    assert all("val_macro_f1" in c.data.metrics for c in children)
    parent = client.get_run(outcome.run_id)
    assert parent.data.params["winner_base_model"] == winner["name"]
    saved = json.loads(Path(client.download_artifacts(outcome.run_id, "bakeoff.json")).read_text())
    assert [row["name"] for row in saved["candidates"]] == list(request.base_models)
    version = client.get_model_version(outcome.registered_model["name"], "1")
    assert version.run_id == outcome.run_id

    candidates = {p.extra["candidate"] for p in progress if p.phase == "training"}
    assert candidates == set(request.base_models)
    assert {p.extra["candidates"] for p in progress if "candidates" in p.extra} == {2}


def test_a_lora_model_is_logged_merged_with_its_adapters_beside(
    tiny_llama: Path, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", min_docs_per_label=10)
    folder = make_topic_folder(tmp_path / "data", {"sport": 20, "finance": 20})
    request = TrainingRequest(
        name="news",
        location=str(folder),
        labels=["sport", "finance"],
        owner="alice",
        base_model=str(tiny_llama),
        training=ARGS,
        acceptance=AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.0),
    )

    outcome = run_training(request, settings)

    assert outcome.bakeoff is None and outcome.base_model == str(tiny_llama)
    client = MlflowClient(settings.resolved_tracking_uri)
    adapter = {Path(a.path).name for a in client.list_artifacts(outcome.run_id, "adapter")}
    assert {"adapter_config.json", "adapter_model.safetensors", "base_model.json"} <= adapter
    named = json.loads(
        Path(client.download_artifacts(outcome.run_id, "adapter/base_model.json")).read_text()
    )
    assert named["base_model"] == str(tiny_llama)
    served = {Path(path).name for path in all_artifacts(client, outcome.run_id, "model")}
    assert "model.safetensors" in served and "adapter_config.json" not in served
    assert client.get_run(outcome.run_id).data.tags["cc.base_model"] == str(tiny_llama)
