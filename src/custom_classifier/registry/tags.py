"""Keys of the tags and metrics the product writes on MLflow runs and registered models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TagKeys:
    owner: str = "cc.owner"
    classifier: str = "cc.classifier"
    location: str = "cc.location"
    labels: str = "cc.labels"
    fingerprint: str = "cc.fingerprint"
    outcome: str = "cc.outcome"
    """accepted | rejected | failed | cancelled | interrupted."""
    reasons: str = "cc.reasons"
    """JSON list of the reasons a model was rejected."""
    error: str = "cc.error"
    """`ExceptionType: message` of a failed run."""
    stop_reason: str = "cc.stop_reason"
    """Why a KILLED run stopped (cancelled, its worker or server stopped)."""
    previous_champion: str = "cc.previous_champion"
    """On a model version: the version `champion` pointed at before it ('' when none)."""
    job_id: str = "cc.job_id"
    base_model: str = "cc.base_model"
    """The base model of the run's model as the user named it (preset, id, folder, .gguf)."""
    candidate: str = "cc.candidate"
    """On a bake-off's child run: the base model that candidate trained."""
    min_score: str = "cc.min_score"
    """On a model version: its abstain threshold, set at training or later on an alias that
    points at it; every loader applies it over the one in `classifier.json`."""
    cpu_backend: str = "cc.cpu_backend"
    """On a model version: what serves it on a CPU: `pending` (the int8 file is being made and
    checked after registration; the exact model serves), `onnx` (the int8 file passed) or
    `torch` (the exact model: the file failed its check, or was never made)."""
    cpu_backend_reason: str = "cc.cpu_backend_reason"
    """On a model version: why the int8 file does not serve it."""


TAGS = TagKeys()

OUTCOME_ACCEPTED = "accepted"
OUTCOME_REJECTED = "rejected"
OUTCOME_FAILED = "failed"
OUTCOME_CANCELLED = "cancelled"
OUTCOME_INTERRUPTED = "interrupted"

SUMMARY_METRICS = {"macro_f1": "test_macro_f1", "accuracy": "test_accuracy"}
"""`VersionInfo.metrics` key -> the run metric it is read from (scores on the test split)."""

CHAMPION = "champion"
"""The alias that always points at the version predictions use by default."""
