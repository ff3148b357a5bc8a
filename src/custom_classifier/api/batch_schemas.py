"""Request and response bodies of batch prediction jobs (`/predictions`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from custom_classifier.api.schemas import ErrorPublic, Location, UtcDatetime, ValidUnicode
from custom_classifier.jobs.batch_contract import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    BatchJobProgress,
    BatchJobResult,
    BatchPredictionRequest,
)
from custom_classifier.jobs.status import JobStatus
from custom_classifier.services.batch_predictions import BatchOrder
from custom_classifier.storage.tables import JobRecord

RunId = Annotated[str, StringConstraints(min_length=1, max_length=64), ValidUnicode]
ClassifierName = Annotated[str, StringConstraints(min_length=1, max_length=64), ValidUnicode]
VersionRef = Annotated[str, StringConstraints(min_length=1, max_length=64), ValidUnicode]
API = "/api/v1/predictions"


class PredictionJobCreate(BaseModel):
    """Classify every document under `location` with a model: `run_id`, or `classifier` with
    an optional `version` (a number or an alias; default `champion`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"classifier": "invoices", "version": "champion", "location": "users/alice/inbox"},
                {"run_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "location": "shared/scans"},
            ]
        },
    )

    location: Location = Field(description="A folder inside a data root; relative to the first.")
    run_id: RunId | None = Field(default=None, description="The MLflow run id of a training.")
    classifier: ClassifierName | None = None
    version: VersionRef | None = Field(
        default=None, description="With `classifier`: a version number or an alias."
    )
    batch_size: StrictInt = Field(
        default=DEFAULT_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE, description="Documents per batch."
    )

    @model_validator(mode="after")
    def _one_model(self) -> PredictionJobCreate:
        if (self.run_id is None) == (self.classifier is None):
            raise ValueError("name the model by `run_id` or by `classifier`, not both")
        if self.run_id is not None and self.version is not None:
            raise ValueError("`version` goes with `classifier`, not with `run_id`")
        return self

    def to_order(self) -> BatchOrder:
        return BatchOrder(
            location=self.location,
            run_id=self.run_id,
            classifier=self.classifier,
            version=self.version,
            batch_size=self.batch_size,
        )


class BatchProgressPublic(BaseModel):
    done: int = Field(description="Documents classified so far (also by an earlier attempt).")
    total: int | None = Field(default=None, description="Documents in the folder.")
    per_second: float | None = Field(default=None, description="Documents per second.")
    seconds_left: float | None = Field(default=None, description="Estimated seconds left.")
    resumed: int = Field(default=0, description="Documents an interrupted attempt had done.")


class BatchFilesPublic(BaseModel):
    csv: str
    jsonl: str
    summary: str


class PredictionJobPublic(BaseModel):
    id: str
    status: str = Field(description="queued, running, completed, failed or cancelled.")
    model: str = Field(description="The model as it was named.")
    model_uri: str = Field(description="The model used: an alias is pinned to its version.")
    run_id: str = Field(description="The run that made the model; it keeps the files too.")
    location: str
    upload: str | None = Field(default=None, description="The zip the folder came from.")
    progress: BatchProgressPublic | None = None
    summary: dict[str, Any] | None = Field(
        default=None,
        description="When completed: `total`, `classified`, `unreadable`, `resumed`, "
        "`labels` (documents per label) and `unreadable_documents` (path and error).",
    )
    artifact_path: str | None = Field(
        default=None, description="The files' folder among the artifacts of `run_id`."
    )
    files: BatchFilesPublic | None = Field(default=None, description="Download links.")
    error: ErrorPublic | None = None
    attempts: int = 0
    cancel_requested: bool = False
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def from_record(cls, job: JobRecord) -> PredictionJobPublic:
        request = BatchPredictionRequest.from_row(job.request)
        result = BatchJobResult.from_row(job.result)
        progress = BatchJobProgress.from_row(job.progress)
        error = None
        if job.error_code:
            error = ErrorPublic(code=job.error_code, message=job.error_message or "")
        return cls(
            id=job.id,
            status=job.status,
            model=request.model,
            model_uri=request.model_uri,
            run_id=request.model_run_id,
            location=request.location,
            upload=request.upload,
            progress=None if progress is None else BatchProgressPublic(**progress.to_row()),
            summary=result.summary or None,
            artifact_path=result.artifact_path,
            files=_files(job) if job.status == JobStatus.COMPLETED else None,
            error=error,
            attempts=job.attempts,
            cancel_requested=job.cancel_requested,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            history=job.history or [],
        )


def _files(job: JobRecord) -> BatchFilesPublic:
    base = f"{API}/{job.id}/files"
    return BatchFilesPublic(csv=f"{base}/csv", jsonl=f"{base}/jsonl", summary=f"{base}/summary")


class PredictionJobsPublic(BaseModel):
    data: list[PredictionJobPublic]
    count: int
