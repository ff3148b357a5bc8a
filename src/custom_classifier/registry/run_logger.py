"""`RunLogger`: what a training writes into its MLflow run, always by explicit run id."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from custom_classifier.registry.packaging import log_pyfunc_model

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from custom_classifier.training.evaluation import Evaluation

_BATCH = 100  # MLflow accepts at most 100 params or tags per log_batch call
_MAX_PARAM_CHARS = 6000


class RunLogger:
    """Logs params, metrics, artifacts and the model of one run, without MLflow's active run."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self._client = client
        self._run_id = run_id

    @property
    def run_id(self) -> str:
        return self._run_id

    def log_params(self, params: dict[str, Any]) -> None:
        items = [Param(key, str(value)[:_MAX_PARAM_CHARS]) for key, value in params.items()]
        for start in range(0, len(items), _BATCH):
            self._client.log_batch(self._run_id, params=items[start : start + _BATCH])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        items = [Metric(key, float(value), now, step or 0) for key, value in metrics.items()]
        for start in range(0, len(items), _BATCH):
            self._client.log_batch(self._run_id, metrics=items[start : start + _BATCH])

    def set_tags(self, tags: dict[str, Any]) -> None:
        items = [RunTag(key, str(value)) for key, value in tags.items()]
        for start in range(0, len(items), _BATCH):
            self._client.log_batch(self._run_id, tags=items[start : start + _BATCH])

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        self._client.log_dict(self._run_id, obj, artifact_file)

    def log_artifacts(self, local_dir: Path, artifact_path: str) -> None:
        """Copy the files of `local_dir` into the run's `artifact_path` folder."""
        self._client.log_artifacts(self._run_id, str(local_dir), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._client.log_text(self._run_id, text, artifact_file)

    def log_figure(self, figure: Figure, artifact_file: str) -> None:
        self._client.log_figure(self._run_id, figure, artifact_file)

    def log_confusion_matrix(self, evaluation: Evaluation, prefix: str = "evaluation") -> None:
        """`<prefix>/confusion_matrix.json` and a heat map `<prefix>/confusion_matrix.png`."""
        self.log_dict(
            {"labels": evaluation.labels, "matrix": evaluation.confusion_matrix},
            f"{prefix}/confusion_matrix.json",
        )
        figure = confusion_matrix_figure(evaluation.labels, evaluation.confusion_matrix)
        self.log_figure(figure, f"{prefix}/confusion_matrix.png")

    def log_classifier_model(self, model_dir: Path) -> str:
        """Log the fine-tuned folder as a pyfunc model; return its `runs:/<id>/model` URI."""
        return log_pyfunc_model(self._client, self._run_id, Path(model_dir))


def confusion_matrix_figure(labels: list[str], matrix: list[list[int]]) -> Figure:
    """Heat map with true labels on rows, predicted labels on columns and counts in cells."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    size = max(4.0, 0.6 * len(labels) + 2)
    figure = Figure(figsize=(size, size), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    ticks = range(len(labels))
    axes.set_xticks(ticks, labels, rotation=45, ha="right")
    axes.set_yticks(ticks, labels)
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")
    axes.set_title("Confusion matrix (test split)")
    peak = max((max(row) for row in matrix if row), default=0)
    for row_index, row in enumerate(matrix):
        for col_index, count in enumerate(row):
            color = "white" if peak and count > peak / 2 else "black"
            axes.text(col_index, row_index, str(count), ha="center", va="center", color=color)
    return figure
