"""Per-step metric histories of a run (the UI draws its validation curve from them)."""

from __future__ import annotations

from collections.abc import Sequence

from mlflow.exceptions import MlflowException

from custom_classifier.registry.tracking import Registry


def metric_histories(
    registry: Registry, run_id: str, keys: Sequence[str]
) -> dict[str, list[tuple[int, float]]]:
    """`key -> [(step, value), ...]` in step order; empty lists when the run or metric is absent."""
    client = registry.client
    histories: dict[str, list[tuple[int, float]]] = {}
    for key in keys:
        try:
            points = client.get_metric_history(run_id, key)
        except MlflowException:
            points = []
        histories[key] = sorted((int(p.step), float(p.value)) for p in points)
    return histories
