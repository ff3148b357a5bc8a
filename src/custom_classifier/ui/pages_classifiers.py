"""A classifier: its versions and aliases (move `champion` to roll back) and "try it"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from custom_classifier import limits
from custom_classifier.api.deps import get_runtime
from custom_classifier.errors import InvalidRequestError, UploadTooLargeError
from custom_classifier.registry.info import ClassifierInfo
from custom_classifier.registry.tags import CHAMPION
from custom_classifier.services import classifiers, jobs, predictions
from custom_classifier.services.users import Identity
from custom_classifier.training.arguments import TrainingArguments, declared_limits
from custom_classifier.ui.rendering import UiRoute, render, wants_json
from custom_classifier.ui.session import CsrfChecked, UiUser

router = APIRouter(route_class=UiRoute)

MAX_TRY_CHARS = limits.MAX_TEXT_CHARS


@router.get("/classifiers/{name}")
def classifier_page(request: Request, name: str, user: UiUser) -> Response:
    return _page(request, user, name)


def _page(
    request: Request,
    user: Identity,
    name: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    text: str = "",
    version: str = "",
    status_code: int = 200,
) -> Response:
    runtime = get_runtime(request)
    info = classifiers.get_classifier(runtime.registry, user, name)
    context = {
        "classifier": info,
        "reports": _reports_by_run(request, user, name),
        "choices": _version_choices(info),
        "result": result,
        "try_error": error,
        "text": text,
        "version": version,
        "api_base": str(request.base_url).rstrip("/"),
        "min_score_limits": declared_limits(TrainingArguments, "min_score"),
        "nav": "dashboard",
    }
    return render(request, "classifier.html", context, status_code=status_code)


def _reports_by_run(request: Request, user: Identity, name: str) -> dict[str, str]:
    """run id -> the job whose report describes it."""
    runtime = get_runtime(request)
    with runtime.databases.metadata.sessions() as session:
        records = jobs.list_jobs(session, user, limit=1000)
        return {r.run_id: r.id for r in records if r.name == name and r.run_id}


def _version_choices(info: ClassifierInfo) -> list[tuple[str, str]]:
    choices = [(alias, f"{alias} (version {v})") for alias, v in sorted(info.aliases.items())]
    return choices + [(str(v.version), f"version {v.version}") for v in info.versions]


@router.post("/classifiers/{name}/aliases", dependencies=[CsrfChecked])
def move_alias(
    request: Request,
    name: str,
    user: UiUser,
    version: Annotated[int, Form()],
    alias: Annotated[str, Form()] = CHAMPION,
) -> Response:
    """Point an alias (by default `champion`) at a version; predictions follow at once."""
    classifiers.move_alias(get_runtime(request).registry, user, name, alias, version)
    return RedirectResponse(f"/ui/classifiers/{name}#versions", status_code=303)


@router.post("/classifiers/{name}/aliases/{alias}/min-score", dependencies=[CsrfChecked])
def set_min_score(
    request: Request,
    name: str,
    alias: str,
    user: UiUser,
    min_score: Annotated[float, Form()],
) -> Response:
    """Set the abstain threshold of the version `alias` points at."""
    classifiers.set_min_score(get_runtime(request).registry, user, name, alias, min_score)
    return RedirectResponse(f"/ui/classifiers/{name}#versions", status_code=303)


@router.post("/classifiers/{name}/predict", dependencies=[CsrfChecked])
def try_it(
    request: Request,
    name: str,
    user: UiUser,
    text: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    """Classify pasted text or a dropped file; the answer shows every label's probability."""
    try:
        result = _predict(request, user, name, text, version or None, file)
    except (InvalidRequestError, UploadTooLargeError) as error:
        if wants_json(request):
            raise
        return _page(request, user, name, error=error.message, text=text, status_code=422)
    if wants_json(request):
        return render(request, "_prediction.html", {"result": result})
    return _page(request, user, name, result=result, text=text, version=version)


def _predict(
    request: Request,
    user: Identity,
    name: str,
    text: str,
    version: str | None,
    file: UploadFile | None,
) -> dict[str, Any]:
    runtime = get_runtime(request)
    named = (runtime.predictor, runtime.registry, user, name, version)
    if file is not None and file.filename:
        limit = runtime.settings.max_upload_bytes
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise UploadTooLargeError(f"the file is larger than {limit} bytes")
        answer = predictions.predict_file_by_name(*named, file.filename, data)
        return _ranked(answer) | {"source": file.filename}
    if not text.strip():
        raise InvalidRequestError("paste some text or choose a file to classify")
    if len(text) > MAX_TRY_CHARS:
        raise InvalidRequestError(f"the text is longer than {MAX_TRY_CHARS} characters")
    answer = predictions.predict_texts_by_name(*named, [text])[0]
    return _ranked(answer) | {"source": "the pasted text"}


def _ranked(answer: dict[str, Any]) -> dict[str, Any]:
    scores = sorted(answer["scores"].items(), key=lambda item: item[1], reverse=True)
    return {
        "label": answer["label"],
        "score": answer["score"],
        "scores": scores,
        "abstained": answer.get("abstained", False),
        "labels": answer.get("labels"),
        "path": answer.get("path"),
    }
