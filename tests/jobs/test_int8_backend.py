"""The int8 file after registration, through the training use case with a real MLflow store and
a tiny model: the version serves the exact model it was judged as until its int8 file has
passed the check beside it; an unfaithful or broken file leaves it serving the exact model and
says why; a worker stopped in between takes the version back with its run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from custom_classifier.config import Settings
from custom_classifier.errors import WorkerInterrupted
from custom_classifier.inference.classifier_folder import ONNX_FILE, read_settings
from custom_classifier.inference.predictor import Predictor
from custom_classifier.jobs.contract import TrainingRequest
from custom_classifier.jobs.training_run import TrainingOutcome, run_training
from custom_classifier.registry.connect import open_registry
from custom_classifier.training import onnx_export
from custom_classifier.training.arguments import AcceptanceCriteria, Progress, TrainingArguments
from factories import make_topic_folder
from support.corrupt_int8.sitecustomize import scrambling

LABELS = ["sport", "finance"]
LEARNS = TrainingArguments(
    epochs=12,
    learning_rate=3e-3,
    warmup_ratio=0.0,
    batch_size=8,
    max_length=32,
    test_fraction=0.25,
    validation_fraction=0.25,
)
CHAMPION = "models:/alice.news@champion"


def _train(tmp_path: Path, base_model: Path, on_int8: Callable[[], None]) -> TrainingOutcome:
    settings = Settings(home=tmp_path / "home", min_docs_per_label=5, base_model=str(base_model))
    request = TrainingRequest(
        name="news",
        location=str(make_topic_folder(tmp_path / "data", dict.fromkeys(LABELS, 24))),
        labels=LABELS,
        owner="alice",
        training=LEARNS,
        acceptance=AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.0, beat_baseline=False),
    )

    def report(progress: Progress) -> None:
        if progress.phase == "int8":
            on_int8()

    return run_training(request, settings, on_progress=report)


def _registry(tmp_path: Path) -> Any:
    return open_registry(Settings(home=tmp_path / "home"))


def _version_tags(tmp_path: Path) -> dict[str, str]:
    client: MlflowClient = _registry(tmp_path).client
    return dict(client.get_model_version_by_alias("alice.news", "champion").tags)


def _logged_folder(tmp_path: Path, run_id: str) -> Path:
    local = Path(_registry(tmp_path).client.download_artifacts(run_id, "model"))
    return next(local.rglob("classifier.json")).parent


def test_the_version_serves_the_exact_model_until_its_int8_file_has_passed(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    predictor = Predictor(_registry(tmp_path))
    during: dict[str, Any] = {}

    def while_the_int8_file_is_made() -> None:
        during["tags"] = _version_tags(tmp_path)
        during["backend"] = predictor.classifier(CHAMPION).backend

    outcome = _train(tmp_path, tiny_base_model, while_the_int8_file_is_made)

    assert during == {"tags": during["tags"], "backend": "torch"}
    assert during["tags"]["cc.cpu_backend"] == "pending"
    assert outcome.registered_model is not None
    assert {"registered_seconds", "int8_seconds"} <= set(outcome.timings)
    served = outcome.gate["served"] if outcome.gate else {}
    assert served["backend"] == "onnx", served
    assert served["agreement"] >= 0.99 and served["int8_macro_f1"] is not None
    assert _version_tags(tmp_path)["cc.cpu_backend"] == "onnx"
    assert predictor.classifier(CHAMPION).backend == "onnx"  # the cached exact copy is stale
    folder = _logged_folder(tmp_path, outcome.run_id)
    assert (folder / ONNX_FILE).is_file()
    assert read_settings(folder)["served"] == {"cpu_backend": "onnx"}
    run = _registry(tmp_path).client.get_run(outcome.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["cc.served_backend"] == "onnx"
    assert run.data.metrics["int8_label_agreement"] == served["agreement"]


def test_an_int8_file_that_disagrees_leaves_the_exact_model_serving_and_says_why(
    tiny_base_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_export, "export_onnx", scrambling(onnx_export.export_onnx))

    outcome = _train(tmp_path, tiny_base_model, lambda: None)

    served = outcome.gate["served"] if outcome.gate else {}
    assert served["backend"] == served["exact_backend"] != "onnx"
    assert "int8 ONNX file" in served["reason"] and served["int8_macro_f1"] is not None
    assert outcome.gate is not None and served["reason"] in outcome.gate["notes"]
    tags = _version_tags(tmp_path)
    assert tags["cc.cpu_backend"] == "torch" and tags["cc.cpu_backend_reason"] == served["reason"]
    folder = _logged_folder(tmp_path, outcome.run_id)
    assert not (folder / ONNX_FILE).exists()
    assert read_settings(folder)["served"] == {"cpu_backend": "torch", "reason": served["reason"]}
    assert Predictor(_registry(tmp_path)).classifier(CHAMPION).backend == "torch"


def test_an_int8_step_that_fails_leaves_the_exact_model_serving(
    tiny_base_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_export(model_dir: Path) -> Path:
        (model_dir / ONNX_FILE).write_bytes(b"half a file")
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(onnx_export, "export_onnx", broken_export)

    outcome = _train(tmp_path, tiny_base_model, lambda: None)

    assert outcome.accepted and outcome.registered_model is not None
    served = outcome.gate["served"] if outcome.gate else {}
    assert "the disk is full" in served["reason"] and served["backend"] != "onnx"
    assert _version_tags(tmp_path)["cc.cpu_backend"] == "torch"
    assert not (_logged_folder(tmp_path, outcome.run_id) / ONNX_FILE).exists()
    assert Predictor(_registry(tmp_path)).classifier(CHAMPION).backend == "torch"
    assert _registry(tmp_path).client.get_run(outcome.run_id).info.status == "FINISHED"


def test_a_worker_stopped_before_the_int8_check_takes_the_version_back_with_its_run(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    def stop_the_worker() -> None:
        raise WorkerInterrupted("the worker was stopped (SIGTERM)")

    with pytest.raises(WorkerInterrupted):
        _train(tmp_path, tiny_base_model, stop_the_worker)

    client: MlflowClient = _registry(tmp_path).client
    assert client.search_model_versions("name = 'alice.news'") == []
    (run,) = client.search_runs(
        [client.get_experiment_by_name("cc/alice").experiment_id]  # type: ignore[union-attr]
    )
    assert run.info.status == RunStatus.to_string(RunStatus.KILLED)
    assert run.data.tags["cc.outcome"] == "interrupted"
