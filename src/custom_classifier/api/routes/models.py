"""Predictions by MLflow run id or by classifier version/alias, from texts or an uploaded file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile

from custom_classifier.api import examples
from custom_classifier.api.deps import CurrentUser, RuntimeDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import PredictCreate, PredictionPublic
from custom_classifier.errors import UploadTooLargeError
from custom_classifier.services import predictions
from custom_classifier.services.runtime import Runtime

router = APIRouter(tags=["predictions"])
FILE_ERRORS = errors(
    404,
    413,
    422,
    status_422="Not valid, or no text could be read from the file.",
    own_examples={413: examples.UPLOAD_TOO_LARGE},
)
DocumentUpload = Annotated[
    UploadFile, File(description="The document: PDF, DOCX, HTML, Markdown, e-mail or text.")
]

VersionQuery = Annotated[
    str | None,
    Query(max_length=64, description="A version number or an alias; default `champion`."),
]


@router.post(
    "/models/{run_id}/predict",
    response_model=PredictionPublic | list[PredictionPublic],
    response_model_exclude_unset=True,  # `path` only from a hierarchical classifier
    summary="Classify texts with a run's model",
    responses=errors(404, 413, 422),
)
def predict_by_run(
    run_id: str, body: PredictCreate, user: CurrentUser, runtime: RuntimeDep, request: Request
) -> PredictionPublic | list[PredictionPublic]:
    """Classify `text` (one answer) or `texts` (a list) with the model of one of your MLflow
    runs (the `run_id` of a job), accepted or not. Each answer has the `label`, its `score` and
    the probability of every label."""
    uri = runtime.run_owners.model_uri(user, run_id)
    return _predict(runtime, request, uri, body, source="run")


@router.post(
    "/models/{run_id}/predict-file",
    response_model=PredictionPublic,
    response_model_exclude_unset=True,
    summary="Classify a document with a run's model",
    responses=FILE_ERRORS,
    openapi_extra=examples.curl_sample(
        'curl -H "Authorization: Bearer $CC_API_KEY" -F file=@invoice-117.pdf '
        f"http://localhost:8000/api/v1/models/{examples.RUN_ID}/predict-file"
    ),
)
def predict_file_by_run(
    run_id: str, file: DocumentUpload, user: CurrentUser, runtime: RuntimeDep, request: Request
) -> PredictionPublic:
    """Classify an uploaded document (PDF, DOCX, HTML, Markdown, e-mail or text) with the model
    of one of your runs; its text is extracted as for training."""
    uri = runtime.run_owners.model_uri(user, run_id)
    return _predict_file(runtime, request, uri, file)


@router.post(
    "/classifiers/{name}/predict",
    response_model=PredictionPublic | list[PredictionPublic],
    response_model_exclude_unset=True,  # `path` only from a hierarchical classifier
    summary="Classify texts with a classifier",
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
    """Classify `text` (one answer) or `texts` (a list) with one of your classifiers by name:
    its `champion` version, or the version or alias given in `version`."""
    texts = _texts(body)
    results = predictions.predict_texts_by_name(
        runtime.predictor, runtime.registry, user, name, version, texts, body.thresholds
    )
    request.app.state.metrics.predictions.labels("classifier").inc(len(texts))
    return _answers(body, results)


@router.post(
    "/classifiers/{name}/predict-file",
    response_model=PredictionPublic,
    response_model_exclude_unset=True,
    summary="Classify a document with a classifier",
    responses=FILE_ERRORS,
    openapi_extra=examples.curl_sample(
        'curl -H "Authorization: Bearer $CC_API_KEY" -F file=@invoice-117.pdf '
        "http://localhost:8000/api/v1/classifiers/invoices/predict-file"
    ),
)
def predict_file_by_classifier(
    name: str,
    file: DocumentUpload,
    user: CurrentUser,
    runtime: RuntimeDep,
    request: Request,
    version: VersionQuery = None,
) -> PredictionPublic:
    """Classify an uploaded document (PDF, DOCX, HTML, Markdown, e-mail or text) with one of
    your classifiers by name: its `champion` version, or the version or alias in `version`."""
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
    results = predictions.predict_texts(runtime.predictor, uri, texts, body.thresholds)
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
