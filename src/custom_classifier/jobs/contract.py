"""The job contract: what the API writes into a job row and the worker reads back, and what the
worker writes for the API and the UI to read.

One typed shape per JSON column of `JobRecord` (`request`, `progress`, `result`), each with
`to_row` (the column's JSON) and `from_row` (tolerant of keys a row lacks, so rows written by an
older version still read). Torch-free: the API, the UI and the worker import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from custom_classifier.training.arguments import (
    AcceptanceCriteria,
    Phase,
    Progress,
    TrainingArguments,
)


@dataclass(frozen=True)
class TrainingRequest:
    """What a user asks for: a classifier name, a folder, the labels to use, and options.

    The API, the UI and the CLI build it; `services.jobs.submit_training` stores it in the job row
    with the owner, the resolved folder and the labels found there."""

    name: str
    location: str
    """As the user gave it until submitted; in the job row, the resolved folder."""
    labels: list[str]
    owner: str | None = None
    base_model: str | None = None
    """A preset name, a Hugging Face id, a local folder or a .gguf file; default
    `Settings.base_model`."""
    base_models: tuple[str, ...] = ()
    """Several base models (or `auto`) for a bake-off; it replaces `base_model` when given."""
    training: TrainingArguments = field(default_factory=TrainingArguments)
    acceptance: AcceptanceCriteria = field(default_factory=AcceptanceCriteria)
    job_id: str | None = None
    """Set when the worker reads the request back from its job row (not stored in it)."""

    def chosen_base_models(self, default: str) -> tuple[str, ...]:
        """The bake-off's base models, else the one base model, else `default`."""
        return self.base_models or (self.base_model or default,)

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "location": self.location,
            "labels": list(self.labels),
            "base_model": self.base_model,
            "base_models": list(self.base_models) or None,
            "training": self.training.to_dict(),
            "acceptance": self.acceptance.to_dict(),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any], *, job_id: str | None = None) -> TrainingRequest:
        return cls(
            name=row["name"],
            location=row["location"],
            labels=list(row["labels"]),
            owner=row.get("owner"),
            base_model=row.get("base_model"),
            base_models=tuple(row.get("base_models") or ()),
            training=TrainingArguments(**row.get("training", {})),
            acceptance=AcceptanceCriteria(**row.get("acceptance", {})),
            job_id=job_id,
        )


@dataclass(frozen=True)
class Candidate:
    """Which base model of a bake-off a progress report is about."""

    name: str
    number: int
    of: int


@dataclass(frozen=True)
class JobProgress:
    """The latest progress report of a job, as its row keeps it."""

    phase: Phase | None = None
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    loss: float | None = None
    eta_seconds: float | None = None
    validation: dict[str, float] | None = None
    candidate: Candidate | None = None
    fold: int | None = None
    """K-fold cross-validation: the fold training now (1-based), of `total_steps`."""

    @classmethod
    def of(cls, progress: Progress) -> JobProgress:
        """A trainer's report as the job row keeps it (a bake-off's candidate from `extra`)."""
        extra = progress.extra
        candidate = None
        if "candidate" in extra:
            candidate = Candidate(
                name=extra["candidate"], number=extra["candidate_number"], of=extra["candidates"]
            )
        return cls(
            phase=Phase(progress.phase),
            step=progress.step,
            total_steps=progress.total_steps,
            epoch=progress.epoch,
            loss=progress.loss,
            eta_seconds=progress.eta_seconds,
            validation=progress.validation,
            candidate=candidate,
            fold=extra.get("fold"),
        )

    def done(self) -> JobProgress:
        """The report of a finished training: the last one, at `done`, nothing left."""
        return replace(self, phase=Phase.DONE, eta_seconds=0.0)

    @property
    def counts_training_steps(self) -> bool:
        """`step` counts training steps (while reading it counts files)."""
        return self.phase == Phase.TRAINING

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["phase"] = None if self.phase is None else self.phase.value
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> JobProgress | None:
        if not row:
            return None
        candidate = row.get("candidate")
        return cls(
            phase=_phase(row.get("phase")),
            step=row.get("step"),
            total_steps=row.get("total_steps"),
            epoch=row.get("epoch"),
            loss=row.get("loss"),
            eta_seconds=row.get("eta_seconds"),
            validation=row.get("validation"),
            candidate=Candidate(**candidate) if candidate else None,
            fold=row.get("fold"),
        )


def _phase(value: str | None) -> Phase | None:
    """A stored phase; None for none, or one this version does not know."""
    try:
        return None if value is None else Phase(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class JobResult:
    """What a job produced besides its metrics: the verdict's reasons and the report's parts.

    A finished training fills the report fields; a failed one only `details` (the error's)."""

    reasons: list[str] = field(default_factory=list)
    """Why the model was rejected (empty when accepted)."""
    baseline: dict[str, Any] | None = None
    data_report: dict[str, Any] | None = None
    timings: dict[str, float] | None = None
    base_model: str | None = None
    """The base model of the judged model: a bake-off's winner."""
    bakeoff: list[dict[str, Any]] | None = None
    """A bake-off's table, one row per candidate."""
    gate: dict[str, Any] | None = None
    """What the acceptance gate measured and decided (`jobs.gate.GateReport.to_dict`)."""
    details: dict[str, Any] | None = None
    """A failed job's error details (`report`: the data report of invalid data)."""

    @property
    def report(self) -> dict[str, Any] | None:
        """The data report: the training's, or the one an invalid-data error carried."""
        return self.data_report or (self.details or {}).get("report")

    def to_row(self) -> dict[str, Any]:
        if self.details is not None:
            return {"details": self.details}
        row = asdict(self)
        del row["details"]
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> JobResult:
        row = row or {}
        return cls(
            reasons=list(row.get("reasons") or []),
            baseline=row.get("baseline"),
            data_report=row.get("data_report"),
            timings=row.get("timings"),
            base_model=row.get("base_model"),
            bakeoff=row.get("bakeoff"),
            gate=row.get("gate"),
            details=row.get("details"),
        )
