"""A finished run's validation scores per epoch, as logged by the training."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custom_classifier.registry.tracking import Registry

VALIDATION_METRICS = {"macro_f1": "val_macro_f1", "accuracy": "val_accuracy"}


def validation_by_epoch(registry: Registry, run_id: str) -> list[dict[str, float]]:
    """`[{"x": epoch, "macro_f1": ..., "accuracy": ...}, ...]`; empty without validation split."""
    from custom_classifier.registry.run_history import metric_histories

    histories = metric_histories(registry.tracking_uri, run_id, list(VALIDATION_METRICS.values()))
    by_epoch: dict[int, dict[str, float]] = {}
    for name, key in VALIDATION_METRICS.items():
        for epoch, value in histories.get(key, []):
            by_epoch.setdefault(epoch, {"x": float(epoch)})[name] = value
    return [point for _, point in sorted(by_epoch.items()) if len(point) == 3]
