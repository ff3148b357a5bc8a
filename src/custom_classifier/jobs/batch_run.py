"""The worker's side of a batch prediction job: classify the folder into the job's stable output
folder (resuming what a killed attempt wrote), then keep the files and a summary as artifacts of
the run that made the model. `tasks.execute_job` calls it for `batch_prediction` jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from custom_classifier.config import Settings
from custom_classifier.inference.folder_predictions import BatchProgress, classify_folder
from custom_classifier.inference.predictor import Predictor
from custom_classifier.jobs.batch_contract import (
    SUMMARY_NAME,
    BatchJobProgress,
    BatchJobResult,
    BatchPredictionRequest,
    output_dir,
)
from custom_classifier.registry.batch_artifacts import log_batch_output
from custom_classifier.registry.connect import open_registry
from custom_classifier.storage import job_repository as jobs
from custom_classifier.storage.engine import Database

PROGRESS_WRITE_SECONDS = 1.0


def run_batch_prediction(
    request: BatchPredictionRequest,
    settings: Settings,
    job_id: str,
    *,
    on_progress: Callable[[BatchProgress], None],
    should_stop: Callable[[], bool],
) -> BatchJobResult:
    """Classify the request's folder; raise `TrainingCancelledError` when `should_stop`."""
    registry = open_registry(settings)
    predictor = Predictor(registry, cache_size=1)
    output = output_dir(settings, job_id)
    summary = classify_folder(
        predictor,
        request.model_uri,
        Path(request.location),
        output,
        batch_size=request.batch_size,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    row = {"job_id": job_id, "model": request.model, "model_uri": request.model_uri}
    row |= {"location": request.location, **summary.to_dict()}
    (output / SUMMARY_NAME).write_text(json.dumps(row, indent=2, ensure_ascii=False) + "\n")
    path = log_batch_output(registry, request.model_run_id, job_id, output)
    return BatchJobResult(summary=summary.to_dict(), artifact_path=path)


class BatchProgressWriter:
    """Writes a batch job's progress to its row, at most once a second (and its first report,
    which carries the total)."""

    def __init__(self, database: Database, job_id: str, attempt: int) -> None:
        self._database = database
        self._job_id = job_id
        self._attempt = attempt
        self._written_at: float | None = None
        self.last = BatchJobProgress()

    def __call__(self, progress: BatchProgress) -> None:
        self.last = BatchJobProgress(
            done=progress.done,
            total=progress.total,
            per_second=round(progress.per_second, 2) if progress.seconds > 0 else None,
            seconds_left=progress.seconds_left,
            resumed=progress.resumed,
        )
        now = time.monotonic()
        written = self._written_at
        if written is not None and now - written < PROGRESS_WRITE_SECONDS:
            return
        self._written_at = now
        with self._database.session() as session:
            jobs.save_progress(session, self._job_id, self.last.to_row(), attempt=self._attempt)

    def finished(self) -> BatchJobProgress:
        """The last report, with nothing left."""
        last = self.last
        return BatchJobProgress(last.done, last.total, last.per_second, 0.0, last.resumed)
