"""The training use case: from a labeled folder to an evaluated, logged and maybe registered model.

Called by the CLI `train` command and by the job task on the worker side; it imports torch
(through `training`) lazily, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custom_classifier.training.arguments import AcceptanceCriteria, Progress, TrainingArguments


@dataclass(frozen=True)
class TrainingRequest:
    """What a user asks for: a classifier name, a folder, the labels to use, and options."""

    name: str
    location: Path
    labels: list[str]
    owner: str | None = None
    base_model: str | None = None
    """A Hugging Face id or a local folder; default `Settings.base_model`."""
    training: TrainingArguments = field(default_factory=TrainingArguments)
    acceptance: AcceptanceCriteria = field(default_factory=AcceptanceCriteria)
    job_id: str | None = None


@dataclass(frozen=True)
class TrainingOutcome:
    run_id: str
    accepted: bool
    reasons: list[str]
    metrics: dict[str, Any]
    """`accuracy`, `macro_f1`, `weighted_f1`, `per_label`, `confusion_matrix`, `labels`."""
    baseline: dict[str, Any]
    data_report: dict[str, Any]
    registered_model: dict[str, Any] | None
    """`{"name": ..., "version": ...}` when accepted, else None."""
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "accepted": self.accepted,
            "reasons": self.reasons,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "data_report": self.data_report,
            "registered_model": self.registered_model,
            "timings": self.timings,
        }


ProgressCallback = Callable[[Progress], None]
StopCheck = Callable[[], bool]
