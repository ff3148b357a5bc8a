"""Runs: what a training logs, and how a run ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from custom_classifier.errors import TrainingCancelledError
from custom_classifier.registry import Registry
from custom_classifier.training.evaluation import evaluate_predictions


def client_of(registry: Registry) -> MlflowClient:
    return MlflowClient(registry.tracking_uri)


def test_a_run_logs_params_metrics_tags_and_artifacts_in_the_owner_experiment(
    registry: Registry,
) -> None:
    with registry.start_run("alice", "spam-filter", {"cc.location": "mail"}) as run:
        run.log_params({"epochs": 3, "base_model": "minilm"})
        run.log_metrics({"val_macro_f1": 0.5}, step=1)
        run.log_metrics({"val_macro_f1": 0.7}, step=2)
        run.set_tags({"cc.job_id": "job-1"})
        run.log_dict({"sport": 120}, "data/report.json")
        run.log_text("all good", "notes.txt")

    client = client_of(registry)
    logged = client.get_run(run.run_id)
    experiment = client.get_experiment(logged.info.experiment_id)
    assert experiment.name == "cc/alice"
    assert experiment.artifact_location.endswith("mlartifacts/cc/alice")
    assert logged.info.status == "FINISHED"
    assert logged.data.params == {"epochs": "3", "base_model": "minilm"}
    history = client.get_metric_history(run.run_id, "val_macro_f1")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.7)]
    assert logged.data.tags["cc.owner"] == "alice"
    assert logged.data.tags["cc.classifier"] == "spam-filter"
    assert logged.data.tags["cc.location"] == "mail"
    assert logged.data.tags["cc.job_id"] == "job-1"
    artifacts = {a.path for a in client.list_artifacts(run.run_id)}
    assert artifacts == {"data", "notes.txt"}


def test_runs_without_owner_go_to_the_local_experiment(registry: Registry) -> None:
    with registry.start_run(None, "spam-filter") as run:
        pass

    info = registry.find_run(run.run_id)
    assert info is not None and info.owner is None and info.status == "FINISHED"
    experiment_id = client_of(registry).get_run(run.run_id).info.experiment_id
    assert client_of(registry).get_experiment(experiment_id).name == "cc/local"


def test_an_exception_ends_the_run_failed_with_the_error(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.start_run("alice", "spam-filter") as run:
        raise RuntimeError("disk full")

    info = registry.find_run(run.run_id)
    assert info is not None
    assert (info.status, info.outcome) == ("FAILED", "failed")
    assert info.error == "RuntimeError: disk full"


def test_a_cancelled_training_ends_the_run_killed(registry: Registry) -> None:
    with (
        pytest.raises(TrainingCancelledError),
        registry.start_run("alice", "spam-filter") as run,
    ):
        raise TrainingCancelledError("cancelled by alice")

    info = registry.find_run(run.run_id)
    assert info is not None
    assert (info.status, info.outcome) == ("KILLED", "cancelled")


def test_the_confusion_matrix_is_logged_as_json_and_a_heat_map(registry: Registry) -> None:
    evaluation = evaluate_predictions(
        ["ham", "ham", "spam", "spam"], ["ham", "spam", "spam", "spam"], ["ham", "spam"]
    )
    with registry.start_run("alice", "spam-filter") as run:
        run.log_confusion_matrix(evaluation)

    client = client_of(registry)
    folder = Path(client.download_artifacts(run.run_id, "evaluation"))
    matrix = json.loads((folder / "confusion_matrix.json").read_text())
    assert matrix == {"labels": ["ham", "spam"], "matrix": [[1, 1], [0, 2]]}
    png = (folder / "confusion_matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_a_rejected_run_keeps_its_reasons(registry: Registry) -> None:
    with registry.start_run("alice", "spam-filter") as run:
        run.log_metrics({"macro_f1": 0.4, "accuracy": 0.5})
    reasons = ["macro-F1 on the test split is 0.400; at least 0.800 is required"]

    registry.mark_rejected(run.run_id, reasons)

    info = registry.find_run(run.run_id)
    assert info is not None
    assert (info.outcome, info.reasons) == ("rejected", reasons)
    assert info.metrics == {"macro_f1": 0.4, "accuracy": 0.5}
    assert info.classifier == "spam-filter"


def test_find_run_returns_none_for_an_unknown_run(registry: Registry) -> None:
    assert registry.find_run("0" * 32) is None
    assert registry.find_run("not-a-run") is None


def test_an_experiment_deleted_in_the_mlflow_ui_is_restored_for_new_runs(
    registry: Registry,
) -> None:
    with registry.start_run("alice", "spam-filter") as first:
        pass
    client = client_of(registry)
    client.delete_experiment(client.get_run(first.run_id).info.experiment_id)
    fresh = Registry(registry.tracking_uri, registry.artifact_root)

    with fresh.start_run("alice", "spam-filter") as second:
        pass

    assert client.get_run(second.run_id).info.status == "FINISHED"


def test_a_finished_runs_curves_come_back_per_epoch(registry: Registry) -> None:
    from custom_classifier.services.run_history import curves_by_epoch

    with registry.start_run("alice", "spam-filter") as run:
        run.log_metrics({"train_loss": 0.9, "val_macro_f1": 0.5, "val_accuracy": 0.6}, step=1)
        run.log_metrics({"train_loss": 0.4, "val_macro_f1": 0.8, "val_accuracy": 0.85}, step=2)

    curves = curves_by_epoch(registry, run.run_id)

    assert curves["loss"] == [{"x": 1.0, "y": 0.9}, {"x": 2.0, "y": 0.4}]
    assert curves["validation"] == [
        {"x": 1.0, "macro_f1": 0.5, "accuracy": 0.6},
        {"x": 2.0, "macro_f1": 0.8, "accuracy": 0.85},
    ]
