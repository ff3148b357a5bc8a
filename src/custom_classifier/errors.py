"""Domain errors. Each carries a stable `code`; the API maps codes to HTTP statuses at its edge."""

from __future__ import annotations

from typing import Any


class CustomClassifierError(Exception):
    """Base of every error the product raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidRequestError(CustomClassifierError):
    code = "invalid_request"


class InvalidDatasetError(CustomClassifierError):
    """The labeled folder fails validation; `details` holds the data report and every problem."""

    code = "invalid_dataset"


class LocationNotAllowedError(CustomClassifierError):
    code = "location_not_allowed"


class LocationNotFoundError(CustomClassifierError):
    code = "location_not_found"


class InvalidLocationError(CustomClassifierError):
    """The location's text cannot be a path (a NUL byte, not Unicode, too long)."""

    code = "invalid_location"


class UnreadableDocumentError(CustomClassifierError):
    """A document could not be turned into text; `reason` says why (empty, binary, encrypted...)."""

    code = "unreadable_document"

    def __init__(self, message: str, *, reason: str, details: dict[str, Any] | None = None):
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.reason = reason


class UnsupportedUploadError(CustomClassifierError):
    code = "unsupported_upload"


class UploadTooLargeError(CustomClassifierError):
    code = "upload_too_large"


class NotFoundError(CustomClassifierError):
    code = "not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"


class ClassifierNotFoundError(NotFoundError):
    code = "classifier_not_found"


class JobNotFoundError(NotFoundError):
    code = "job_not_found"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"


class ReportNotFoundError(NotFoundError):
    """The job ended before its model was evaluated (cancelled before it started, failed)."""

    code = "report_not_found"


class ConflictError(CustomClassifierError):
    code = "conflict"


class JobNotCancellableError(ConflictError):
    code = "job_not_cancellable"


class PredictionsNotReadyError(ConflictError):
    """A batch prediction's files are downloadable once the job has completed."""

    code = "predictions_not_ready"


class AuthenticationError(CustomClassifierError):
    code = "unauthenticated"


class PermissionDeniedError(CustomClassifierError):
    code = "forbidden"


class BaseModelError(CustomClassifierError):
    """The base model could not be loaded (unknown id, no hub access, not a folder)."""

    code = "base_model_unavailable"


class TrainingCancelledError(CustomClassifierError):
    code = "cancelled"


class TrainingError(CustomClassifierError):
    code = "training_failed"


class ServiceUnavailableError(CustomClassifierError):
    code = "service_unavailable"


class WorkerInterrupted(BaseException):  # noqa: N818 - named like KeyboardInterrupt, its kin
    """The process running a training is being stopped: a signal, or its server is gone.

    A `BaseException`, like `KeyboardInterrupt`: it is raised wherever the process happens to be,
    and no `except Exception` on the way may swallow it. Its MLflow run ends KILLED with `reason`
    and its job is re-queued.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
