"""The curves of a training, recorded by the process that trains, whoever watches.

`loss`: one point per progress report, `{"x": fractional epoch, "y": mean loss of the steps
since the previous point, "step": step}`; `validation`: one point per epoch, `{"x": epoch,
"macro_f1", "accuracy"}`. The job row keeps them (`JobRecord.curves`), so the API and a page
opened at any moment show every point so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custom_classifier.training.arguments import Phase, Progress

MAX_LOSS_POINTS = 400
"""At this many (an even number), neighbouring loss points are merged two by two (and new ones too): a long training
keeps its whole curve at a coarser grain, and the job row stays small."""


@dataclass
class TrainingCurves:
    loss: list[dict[str, float]] = field(default_factory=list)
    validation: list[dict[str, float]] = field(default_factory=list)
    merge: int = 1
    """Reports per loss point (doubles each time the curve is thinned)."""
    _pending: list[dict[str, float]] = field(default_factory=list)

    def add(self, progress: Progress) -> bool:
        """Take a progress report's points; True when it had any."""
        if progress.phase != Phase.TRAINING:
            return False
        added = False
        if progress.loss is not None and _after(self._last_loss_x(), progress.epoch):
            self._pending.append({"x": progress.epoch, "y": progress.loss, "step": progress.step})
            if len(self._pending) >= self.merge:
                self.loss.append(_merged(self._pending))
                self._pending = []
                if len(self.loss) >= MAX_LOSS_POINTS:  # even: every pair is whole
                    self._thin()
            added = True
        last_validation = self.validation[-1]["x"] if self.validation else None
        if progress.validation and _after(last_validation, progress.epoch):
            self.validation.append({"x": progress.epoch, **progress.validation})
            added = True
        return added

    def to_row(self) -> dict[str, Any]:
        """The JSON of the job row (a merge in progress shows as its own point)."""
        loss = self.loss + ([_merged(self._pending)] if self._pending else [])
        return {"loss": loss, "validation": list(self.validation), "merge": self.merge}

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> TrainingCurves:
        row = row or {}
        return cls(
            loss=list(row.get("loss") or []),
            validation=list(row.get("validation") or []),
            merge=int(row.get("merge") or 1),
        )

    def _last_loss_x(self) -> float | None:
        if self._pending:
            return self._pending[-1]["x"]
        return self.loss[-1]["x"] if self.loss else None

    def _thin(self) -> None:
        self.loss = [_merged(self.loss[i : i + 2]) for i in range(0, len(self.loss), 2)]
        self.merge *= 2


def _after(last: float | None, epoch: float) -> bool:
    return last is None or epoch > last


def _merged(points: list[dict[str, float]]) -> dict[str, float]:
    """One point for consecutive ones: the mean loss at the last one's position."""
    mean = sum(p["y"] for p in points) / len(points)
    return {"x": points[-1]["x"], "y": mean, "step": points[-1]["step"]}
