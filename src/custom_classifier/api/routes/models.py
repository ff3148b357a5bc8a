"""Predictions by MLflow run id or by classifier version/alias, from texts or an uploaded file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile

from custom_classifier.api.deps import CurrentUser, RuntimeDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import PredictCreate, PredictionPublic
from custom_classifier.errors import UploadTooLargeError
from custom_classifier.services import predictions
from custom_classifier.services.runtime import Runtime

router = APIRouter(tags=["predictions"])
FILE_ERRORS = errors(404, 413, 422, status_422="Not valid, or no text could be read from the file.")

VersionQuery = Annotated[
    str | None,
    Query(max_length=64, description="A version number or an alias; default `champion`."),
]


@router.post(
    "/models/{run_id}/predict",
    response_model=PredictionPublic | list[PredictionPublic],
    responses=errors(404, 413, 422),
)
def predict_by_run(
    run_id: str, body: PredictCreate, user: CurrentUser, runtime: RuntimeDep, request: Request
) -> PredictionPublic | list[PredictionPublic]:
    """Classify `text` (one answer) or `texts` (a list) with the model of one of your runs."""
    uri = runtime.run_owners.model_uri(user, run_id)
    return _predict(runtime, request, uri, body, source="run")


@router.post(
    "/models/{run_id}/predict-file", response_model=PredictionPublic, responses=FILE_ERRORS
)
def predict_file_by_run(
    run_id: str, file: UploadFile, user: CurrentUser, runtime: RuntimeDep, request: Request
) -> PredictionPublic:
    """Classify an uploaded PDF, DOCX, HTML or text file."""
    uri = runtime.run_owners.model_uri(user, run_id)
    return _predict_file(runtime, request, uri, file)


@router.post(
    "/classifiers/{name}/predict",
    response_model=PredictionPublic | list[PredictionPublic],
    responses=errors(404, 413, 422),
)
def predict_by_classifier(
    name: str,
    body: PredictCreate,
    user: CurrentUser,
    runtime: RuntimeDep,
    request: Request,
    version: VersionQuery = None,
) -> PredictionPublic | list[PredictionPublic]:
    """Classify with a version or alias of one of your classifiers (default `champion`)."""
    texts = _texts(body)
    results = predictions.predict_texts_by_name(
        runtime.predictor, runtime.registry, user, name, version, texts
    )
    request.app.state.metrics.predictions.labels("classifier").inc(len(texts))
    return _answers(body, results)


@router.post(
    "/classifiers/{name}/predict-file", response_model=PredictionPublic, responses=FILE_ERRORS
)
def predict_file_by_classifier(
    name: str,
    file: UploadFile,
    user: CurrentUser,
    runtime: RuntimeDep,
    request: Request,
    version: VersionQuery = None,
) -> PredictionPublic:
    data = _read_upload(runtime, file)
    result = predictions.predict_file_by_name(
        runtime.predictor, runtime.registry, user, name, version, file.filename or "upload", data
    )
    request.app.state.metrics.predictions.labels("file").inc()
    return PredictionPublic(**result)


def _texts(body: PredictCreate) -> list[str]:
    return [body.text] if body.text is not None else body.texts or []


def _answers(
    body: PredictCreate, results: list[dict[str, Any]]
) -> PredictionPublic | list[PredictionPublic]:
    answers = [PredictionPublic(**r) for r in results]
    return answers[0] if body.text is not None else answers


def _predict(
    runtime: Runtime, request: Request, uri: str, body: PredictCreate, *, source: str
) -> PredictionPublic | list[PredictionPublic]:
    texts = _texts(body)
    results = predictions.predict_texts(runtime.predictor, uri, texts)
    request.app.state.metrics.predictions.labels(source).inc(len(texts))
    return _answers(body, results)


def _read_upload(runtime: Runtime, file: UploadFile) -> bytes:
    limit = runtime.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLargeError(
            f"the file is larger than {limit} bytes", details={"limit": limit}
        )
    return data


def _predict_file(
    runtime: Runtime, request: Request, uri: str, file: UploadFile
) -> PredictionPublic:
    data = _read_upload(runtime, file)
    result = predictions.predict_file(runtime.predictor, uri, file.filename or "upload", data)
    request.app.state.metrics.predictions.labels("file").inc()
    return PredictionPublic(**result)
