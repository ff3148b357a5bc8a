"""Which epoch to keep and when to stop, from the validation scores of each epoch (no torch)."""

from __future__ import annotations

from dataclasses import dataclass

PERFECT = 1.0 - 1e-9
"""A validation macro-F1 at least this high cannot improve: training stops."""


@dataclass
class EarlyStopping:
    """Keeps the best epoch by validation macro-F1 and stops when it no longer rises.

    The best epoch has the highest validation macro-F1; among epochs with the same macro-F1,
    the one with the lower validation loss (the loss only breaks ties: it never keeps training
    going by itself). Training stops after `patience` epochs without a higher macro-F1, or at
    once when the macro-F1 is perfect. Without a validation split, every epoch runs and the
    last one is kept.
    """

    patience: int
    best_epoch: int = 0
    best_f1: float | None = None
    best_loss: float = float("inf")
    stale: int = 0
    """Epochs since the macro-F1 last rose."""

    def update(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Record an epoch's metrics; True when its weights are the best so far."""
        if "val_macro_f1" not in metrics:
            self.best_epoch = epoch
            return True
        f1, loss = metrics["val_macro_f1"], metrics.get("val_loss", float("inf"))
        if self.best_f1 is None or f1 > self.best_f1:
            self.best_f1, self.best_loss, self.best_epoch, self.stale = f1, loss, epoch, 0
            return True
        self.stale += 1
        if f1 == self.best_f1 and loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch
            return True
        return False

    @property
    def should_stop(self) -> bool:
        if self.best_f1 is None:
            return False
        return self.best_f1 >= PERFECT or self.stale >= self.patience
