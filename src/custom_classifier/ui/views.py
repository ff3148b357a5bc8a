"""What the pages show, computed from service results: job states, progress, reports, links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from custom_classifier.config import Settings
from custom_classifier.jobs.contract import JobProgress, JobResult, TrainingRequest
from custom_classifier.jobs.status import TERMINAL_STATUSES, JobStatus
from custom_classifier.services.mlflow_ui import open_run_command
from custom_classifier.storage.clock import as_utc, utcnow
from custom_classifier.storage.tables import JobRecord
from custom_classifier.training.arguments import Phase
from custom_classifier.training.curves import TrainingCurves

STATE_WORDS = {
    JobStatus.QUEUED: "Waiting for a free worker",
    JobStatus.RUNNING: "Training",
    JobStatus.ACCEPTED: "Accepted and registered",
    JobStatus.REJECTED: "Trained, but rejected by the acceptance criteria",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}
PHASE_WORDS = {
    Phase.READING: "Reading the documents",
    Phase.PREPARING: "Preparing the model",
    Phase.TRAINING: "Fine-tuning the model",
    Phase.EVALUATING: "Evaluating on the test split",
    Phase.LOGGING: "Saving the model and the report",
    Phase.INT8: "Registered; optimizing for CPU (the exact model serves meanwhile)",
    Phase.DONE: "Finished",
}
PHASE_PERCENT = {
    Phase.READING: 1.0,
    Phase.PREPARING: 2.0,
    Phase.EVALUATING: 93.0,
    Phase.LOGGING: 97.0,
    Phase.INT8: 98.0,
    Phase.DONE: 100.0,
}
TRAINING_PERCENT = (3.0, 92.0)
"""Where the bar stands as training starts and as its last step ends."""


def job_view(job: JobRecord) -> dict[str, Any]:
    """A job as the job page and its event stream show it (JSON-ready)."""
    progress = JobProgress.from_row(job.progress) or JobProgress()
    terminal = job.status in TERMINAL_STATUSES
    steps = progress.counts_training_steps
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status,
        "state": STATE_WORDS.get(JobStatus(job.status), job.status),
        "terminal": terminal,
        "phase": _phase_words(progress),
        "percent": percent_done(job.status, progress),
        # Steps are training steps on the page; while reading they count files (the CLI bar).
        "step": progress.step if steps else None,
        "total_steps": progress.total_steps if steps else None,
        "epoch": progress.epoch,
        "loss": progress.loss,
        "validation": progress.validation,
        "eta": "" if terminal else time_left(progress.eta_seconds),
        "error": job.error_message,
        "reasons": JobResult.from_row(job.result).reasons,
        "cancel_requested": job.cancel_requested,
        "duration": duration(job),
    }


def duration(job: JobRecord, now: datetime | None = None) -> str:
    """How long the job ran ("took 1 min 05 s"), or has been running; empty before it starts."""
    started, finished = as_utc(job.started_at), as_utc(job.finished_at)
    if started is None:
        return ""
    if finished is not None and job.status in TERMINAL_STATUSES:
        return f"took {span(finished - started)}"
    return f"running for {span((now or utcnow()) - started)}"


def span(elapsed: timedelta) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`."""
    seconds = max(0, round(elapsed.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def job_curves(job: JobRecord) -> dict[str, Any]:
    """The loss and validation points the training recorded (JSON-ready)."""
    curves = TrainingCurves.from_row(job.curves)
    return {"loss": curves.loss, "validation": curves.validation}


def _phase_words(progress: JobProgress) -> str:
    """The phase in words; in a bake-off, which base model it is about."""
    words = PHASE_WORDS.get(progress.phase, "") if progress.phase else ""
    if progress.fold and progress.phase == Phase.EVALUATING:
        words = f"Cross-validating: training fold {progress.fold} of {progress.total_steps}"
    candidate = progress.candidate
    if not candidate or progress.phase == Phase.DONE:
        return words
    return f"{words} · base model {candidate.number} of {candidate.of}: {candidate.name}"


def base_model_choices(infos: list[Any]) -> list[dict[str, Any]]:
    """The presets as the new-classifier form offers them: facts in words, and why not."""
    return [
        {
            "name": info.name,
            "kind": "decoder LLM" if info.kind == "decoder" else "encoder",
            "parameters": f"{info.parameters / 1e6:,.0f}M parameters",
            "context": f"{info.context_window:,}-token context",
            "fine_tuning": "LoRA adapters" if info.fine_tuning == "lora" else "full fine-tuning",
            "description": info.description,
            "available": info.available,
            "reason": info.reason,
        }
        for info in infos
    ]


def percent_done(status: str, progress: JobProgress) -> float:
    """How far the job got: 100 once it has an outcome; a failed or cancelled job's bar stays
    where it stopped."""
    if status in (JobStatus.ACCEPTED, JobStatus.REJECTED):
        return 100.0
    if progress.counts_training_steps and progress.total_steps:
        start, end = TRAINING_PERCENT
        return round(start + (end - start) * (progress.step or 0) / progress.total_steps, 1)
    return PHASE_PERCENT.get(progress.phase, 0.0) if progress.phase else 0.0


def time_left(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"about {seconds} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"about {minutes} min {seconds:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min left"


def when(value: Any) -> str:
    """A timestamp as people read it, in UTC."""
    moment = as_utc(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def heat(count: int, row_total: int, correct: bool = True) -> str:
    """A confusion-matrix cell's background: blue for right answers, red for mistakes, darker
    for a larger share of its row."""
    share = count / row_total if row_total else 0.0
    colour = "37, 99, 235" if correct else "220, 38, 38"
    return f"rgba({colour}, {0.05 + 0.85 * share:.2f})"


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, the rest untouched."""
    return text[:1].upper() + text[1:] if text else text


@dataclass(frozen=True)
class MlflowLink:
    url: str | None
    run_id: str
    command: str | None
    """How to open the run when no MLflow UI is served (the embedded default)."""


def mlflow_link(settings: Settings, run_id: str) -> MlflowLink:
    """The run in the MLflow UI: the public URL, else an http(s) tracking URI, else a command."""
    base = settings.mlflow_public_url
    tracking = settings.resolved_tracking_uri
    if not base and tracking.startswith(("http://", "https://")):
        base = tracking
    if base:
        return MlflowLink(url=f"{base.rstrip('/')}/#/runs/{run_id}", run_id=run_id, command=None)
    return MlflowLink(url=None, run_id=run_id, command=open_run_command(settings))


def report_view(job: JobRecord, settings: Settings) -> dict[str, Any]:
    """Everything the report page shows about a finished training."""
    metrics = job.metrics or {}
    result = JobResult.from_row(job.result)
    request = TrainingRequest.from_row(job.request)
    labels = list(metrics.get("labels") or job.labels)
    matrix = metrics.get("confusion_matrix") or []
    return {
        "accepted": job.status == JobStatus.ACCEPTED,
        "reasons": result.reasons,
        "acceptance": request.acceptance.to_dict(),
        "metrics": metrics,
        "baseline": result.baseline or {},
        "labels": labels,
        "per_label": metrics.get("per_label") or {},
        "matrix": [
            {"label": label, "cells": row, "total": sum(row)}
            for label, row in zip(labels, matrix, strict=False)
        ],
        "data_report": result.report,
        "timings": result.timings or {},
        "base_model": result.base_model,
        "bakeoff": result.bakeoff or [],
        "gate": result.gate or {},
        "training": request.training.to_dict(),
        "mlflow": mlflow_link(settings, job.run_id) if job.run_id else None,
    }
