"""The job contract of a batch prediction: the `request`, `progress` and `result` columns of a
`batch_prediction` job row, each with `to_row`/`from_row`, and where the job writes its files.

Torch-free: the API, the UI and the worker import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from custom_classifier.config import Settings
from custom_classifier.errors import InvalidRequestError

OUTPUT_FOLDER = "batch_predictions"
DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 256
SUMMARY_NAME = "summary.json"
"""Beside the predictions: the job, the model and the summary (counts per label, unreadable)."""


def output_dir(settings: Settings, job_id: str) -> Path:
    """Where job `job_id` writes `predictions.jsonl` and `.csv`: the same for every attempt, so
    a re-queued job resumes from what the killed one wrote (workers share `CC_HOME`)."""
    return settings.resolved_home / OUTPUT_FOLDER / job_id


@dataclass(frozen=True)
class BatchPredictionRequest:
    """Classify every document under `location` with the model at `model_uri`."""

    model: str
    """The model as the user named it: a run id, `NAME`, `NAME@ALIAS` or `NAME/VERSION`."""
    model_uri: str
    """Pinned when submitted: `runs:/<id>/model` or `models:/<name>/<version>`, never an alias."""
    model_run_id: str
    """The run that made the model; the job's files are kept among its artifacts."""
    location: str
    """The resolved folder."""
    owner: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    upload: str | None = None
    """The name of the uploaded zip the folder was unpacked from, if any."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise InvalidRequestError(
                f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {self.batch_size}",
                details={"batch_size": self.batch_size},
            )

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BatchPredictionRequest:
        return cls(
            model=row["model"],
            model_uri=row["model_uri"],
            model_run_id=row["model_run_id"],
            location=row["location"],
            owner=row.get("owner"),
            batch_size=int(row.get("batch_size") or DEFAULT_BATCH_SIZE),
            upload=row.get("upload"),
        )


@dataclass(frozen=True)
class BatchJobProgress:
    """Documents done of the total, the rate of this attempt, and the time left."""

    done: int = 0
    total: int | None = None
    per_second: float | None = None
    seconds_left: float | None = None
    resumed: int = 0
    """Documents a killed attempt had classified before this one started."""

    def to_row(self) -> dict[str, Any]:
        return {"kind": "batch_prediction", **asdict(self)}

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> BatchJobProgress | None:
        if not row or row.get("kind") != "batch_prediction":
            return None
        return cls(
            done=int(row.get("done") or 0),
            total=row.get("total"),
            per_second=row.get("per_second"),
            seconds_left=row.get("seconds_left"),
            resumed=int(row.get("resumed") or 0),
        )


@dataclass(frozen=True)
class BatchJobResult:
    """What a finished batch prediction produced: the summary and where its files are kept."""

    summary: dict[str, Any] = field(default_factory=dict)
    """`inference.folder_predictions.BatchSummary.to_dict()`: counts per label, unreadable."""
    artifact_path: str | None = None
    """The files' folder among the artifacts of the model's run."""
    details: dict[str, Any] | None = None
    """A failed job's error details."""

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> BatchJobResult:
        row = row or {}
        return cls(
            summary=dict(row.get("summary") or {}),
            artifact_path=row.get("artifact_path"),
            details=row.get("details"),
        )
