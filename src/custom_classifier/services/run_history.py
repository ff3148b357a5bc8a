"""A finished run's training loss and validation scores per epoch, as logged by the training."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custom_classifier.registry.tracking import Registry

VALIDATION_METRICS = {"macro_f1": "val_macro_f1", "accuracy": "val_accuracy"}
LOSS_METRIC = "train_loss"


def curves_by_epoch(registry: Registry, run_id: str) -> dict[str, list[dict[str, float]]]:
    """`{"loss": [{"x": epoch, "y": mean loss}, ...], "validation": [...]}` as the run logged them.

    `validation` is `[{"x": epoch, "macro_f1": ..., "accuracy": ...}, ...]`, empty without a
    validation split.
    """
    from custom_classifier.registry.run_history import metric_histories

    keys = [LOSS_METRIC, *VALIDATION_METRICS.values()]
    histories = metric_histories(registry, run_id, keys)
    loss = [{"x": float(epoch), "y": value} for epoch, value in histories.get(LOSS_METRIC, [])]
    return {"loss": loss, "validation": _validation(histories)}


def _validation(histories: dict[str, list[tuple[int, float]]]) -> list[dict[str, float]]:
    by_epoch: dict[int, dict[str, float]] = {}
    for name, key in VALIDATION_METRICS.items():
        for epoch, value in histories.get(key, []):
            by_epoch.setdefault(epoch, {"x": float(epoch)})[name] = value
    return [point for _, point in sorted(by_epoch.items()) if len(point) == 3]
