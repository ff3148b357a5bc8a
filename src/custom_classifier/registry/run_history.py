"""Per-step metric histories of a run (the UI draws its validation curve from them)."""

from __future__ import annotations

from collections.abc import Sequence

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def metric_histories(
    tracking_uri: str, run_id: str, keys: Sequence[str]
) -> dict[str, list[tuple[int, float]]]:
    """`key -> [(step, value), ...]` in step order; empty lists when the run or metric is absent."""
    client = MlflowClient(tracking_uri=tracking_uri)
    histories: dict[str, list[tuple[int, float]]] = {}
    for key in keys:
        try:
            points = client.get_metric_history(run_id, key)
        except MlflowException:
            points = []
        histories[key] = sorted((int(p.step), float(p.value)) for p in points)
    return histories
