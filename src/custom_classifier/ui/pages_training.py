"""New classifier (browse, upload, labels, options), the live job page, and the report."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from custom_classifier.api.deps import RuntimeDep, SessionDep, get_runtime
from custom_classifier.api.events import job_event_stream
from custom_classifier.corpus.label_tree import Levels
from custom_classifier.errors import (
    CustomClassifierError,
    InvalidDatasetError,
    InvalidRequestError,
    ReportNotFoundError,
)
from custom_classifier.jobs.contract import TrainingRequest
from custom_classifier.limits import MAX_LABEL_DEPTH
from custom_classifier.services import (
    dataset_preview,
    datasets,
    jobs,
    run_history,
    sample_dataset,
)
from custom_classifier.services.users import Identity
from custom_classifier.storage.tables import JobRecord
from custom_classifier.training.arguments import (
    AcceptanceCriteria,
    EvaluationMethod,
    LongDocumentStrategy,
    Mode,
    TrainingArguments,
    declared_limits,
)
from custom_classifier.ui.rendering import UiRoute, render, wants_json
from custom_classifier.ui.session import CsrfChecked, UiUser, form_serializer
from custom_classifier.ui.views import base_model_choices, job_curves, job_view, report_view

logger = logging.getLogger(__name__)
router = APIRouter(route_class=UiRoute)

REFUSED_FORM_SECONDS = 3600
"""How long the address of a refused form shows it again (a reload, the back button)."""
MAX_CARRIED_PROBLEMS = 20
# Advanced numeric options: form field (= dataclass field) -> its type. Their bounds are the
# ones declared on the dataclass (the form's min and max show them; the dataclass checks them).
TRAINING_FIELDS: dict[str, type] = {
    "epochs": int,
    "max_length": int,
    "batch_size": int,
    "learning_rate": float,
    "min_score": float,
    "folds": int,
    "kfold_budget_seconds": int,
}
ACCEPTANCE_FIELDS: dict[str, type] = {"min_macro_f1": float, "min_label_f1": float}

FIELD_LIMITS: dict[str, dict[str, int | float]] = {
    name: dict(zip(("min", "max"), declared_limits(arguments, name), strict=True))
    for arguments, names in (
        (TrainingArguments, TRAINING_FIELDS),
        (AcceptanceCriteria, ACCEPTANCE_FIELDS),
    )
    for name in names
}
_OPTION_WORDS = {
    "epochs": "at most {:g} epochs",
    "max_length": "a {:g}-token window",
    "batch_size": "batches of {:g}",
    "learning_rate": "learning rate {:g}",
    "evaluation": "the held-out test split (no k-fold)",
}
SAMPLE_NOTICE = (
    "The advanced options are set for this small sample: "
    + ", ".join(_OPTION_WORDS[k].format(v) for k, v in sample_dataset.SAMPLE_TRAINING.items())
    + ". Your own documents start from the general defaults."
)


# --- new classifier --------------------------------------------------------------------------


@router.get("/new")
def new_classifier(
    request: Request,
    user: UiUser,
    location: str | None = None,
    path: str | None = None,
    preset: str | None = None,
    name: str | None = None,
    retry: str | None = None,
    depth: str | None = None,
    hierarchical: str | None = None,
) -> Response:
    """The form: browse or upload, pick labels, fold-away options. After a refused submission
    (`retry`: its signed values and problems), the same form with every problem shown once."""
    settings = get_runtime(request).settings
    if retry is not None:
        refused = _read_refused(settings, user, retry)
        if refused is not None:
            return _form_with_problems(request, user, **refused)
    options = _default_options()
    notice = "That form has expired; fill it in again." if retry is not None else None
    if preset == "sample":
        options.update({k: str(v) for k, v in sample_dataset.SAMPLE_TRAINING.items()})
        name = name or sample_dataset.SAMPLE_CLASSIFIER_NAME
        notice = SAMPLE_NOTICE
    level = {"depth": depth or "", "hierarchical": hierarchical or ""}
    preview = _preview(user, settings, location, _levels(level)) if location else None
    context = {
        "nav": "new",
        "form": {"name": name or "", "location": location or "", **options, **level},
        "browse": _browse(user, settings, path or _parent(location), quiet=_failed(preview)),
        "preview": preview,
        "selected": None,
        "min_docs": settings.min_docs_per_label,
        "default_base_model": "the bundled all-MiniLM-L6-v2",
        "form_notice": notice,
        "base_models": _base_model_choices(settings),
        "limits": FIELD_LIMITS,
        "kfold_budget_default": settings.kfold_budget_seconds,
    }
    return render(request, "new.html", context)


def _failed(preview: dict[str, Any] | None) -> bool:
    return bool(preview and preview["error"])


@router.get("/new/browse")
def browse_fragment(request: Request, user: UiUser, path: str | None = None) -> Response:
    browse = _browse(user, get_runtime(request).settings, path)
    return render(request, "_browse.html", {"browse": browse})


@router.get("/new/labels")
def labels_fragment(
    request: Request, user: UiUser, location: str, depth: str = "", hierarchical: str = ""
) -> Response:
    settings = get_runtime(request).settings
    levels = _levels({"depth": depth, "hierarchical": hierarchical})
    context = {"preview": _preview(user, settings, location, levels), "selected": None}
    return render(request, "_labels.html", context | {"min_docs": settings.min_docs_per_label})


def _parent(location: str | None) -> str | None:
    return location.rsplit("/", 1)[0] if location and "/" in location.rstrip("/") else None


def _browse(
    user: Identity, settings: Any, path: str | None, *, quiet: bool = False
) -> dict[str, Any]:
    """The listing of `path`, or of the data roots when it cannot be shown: then with the
    reason, unless `quiet` (the location's own message already says it)."""
    try:
        listing = datasets.browse(path, user.username, settings)
    except CustomClassifierError as error:
        listing = datasets.browse(None, user.username, settings)
        return {"listing": listing, "error": None if quiet else error.message}
    return {"listing": listing, "error": None}


def _levels(values: dict[str, Any]) -> Levels:
    """The level of nested label folders the form asks for (flat when none or not a level)."""
    depth = values.get("depth") or ""
    return Levels(
        depth=int(depth) if depth.isdigit() and 1 <= int(depth) <= MAX_LABEL_DEPTH else None,
        hierarchical=bool(values.get("hierarchical")),
    )


def _preview(
    user: Identity, settings: Any, location: str, levels: Levels | None = None
) -> dict[str, Any]:
    """The folder's labels with counts and problems, or the reason it cannot be read."""
    try:
        report = dataset_preview.preview_location(
            settings, user, location, levels=levels or Levels()
        )
    except CustomClassifierError as error:
        return {"location": location, "error": error.message, "report": None}
    return {"location": report.root, "error": None, "report": report.to_dict()}


@router.post("/datasets", dependencies=[CsrfChecked])
def upload_dataset(request: Request, user: UiUser, file: UploadFile) -> Response:
    """A zip of label folders, unpacked into the user's area (the page shows upload progress)."""
    settings = get_runtime(request).settings
    info = datasets.unpack_dataset(
        file.file, file.filename or "dataset.zip", user.username, settings
    )
    name = suggested_name(info.name)
    if wants_json(request):
        return JSONResponse({"location": info.location, "labels": info.labels, "name": name})
    query = urlencode({"location": info.location, "name": name})
    return RedirectResponse(f"/ui/new?{query}", status_code=303)


def suggested_name(folder: str) -> str:
    """A classifier name from a folder's (or zip's) name: `Support Mail 2024` -> `Support-Mail-2024`."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder).strip("-_")[:64]
    return name if jobs.CLASSIFIER_NAME.match(name) else ""


@router.post("/classifiers", dependencies=[CsrfChecked])
async def create_classifier(request: Request, user: UiUser) -> Response:
    """Queue the training, or show the form again with every problem beside its field."""
    form = await request.form()
    runtime = get_runtime(request)
    values = _form_values(form)
    try:
        asked = _request(form)

        def submit() -> str:
            with runtime.databases.metadata.sessions() as session:
                job = jobs.submit_training(session, runtime.queue, runtime.settings, user, asked)
                return job.id

        job_id = await run_in_threadpool(submit)
    except InvalidDatasetError as error:
        report = error.details.get("report") or {}
        return await _form_again(request, user, values, problems=report.get("problems", []))
    except CustomClassifierError as error:
        return await _form_again(request, user, values, message=error.message)
    return RedirectResponse(f"/ui/jobs/{job_id}", status_code=303)


def _base_model_choices(settings: Any) -> list[dict[str, Any]]:
    from custom_classifier.training.presets import list_base_models

    return base_model_choices(list_base_models(settings))


def _default_options() -> dict[str, str]:
    training, acceptance = TrainingArguments(), AcceptanceCriteria()
    options = {name: _shown(getattr(training, name)) for name in TRAINING_FIELDS}
    options |= {name: str(getattr(acceptance, name)) for name in ACCEPTANCE_FIELDS}
    options |= {"long_document_strategy": training.long_document_strategy, "base_model": ""}
    options |= {"mode": training.mode}
    options |= {"promote": acceptance.promote, "beat_baseline": "yes"}
    return options | {"evaluation": training.evaluation}


def _shown(value: object) -> str:
    """A default in a form field; None (`kfold_budget_seconds`: the machine's) leaves it empty."""
    return "" if value is None else str(value)


def _form_values(form: FormData) -> dict[str, Any]:
    names = ["name", "location", "base_model", "long_document_strategy", "promote", "beat_baseline"]
    names += ["mode"]
    names += ["evaluation"]
    names += ["depth", "hierarchical"]
    names += [*TRAINING_FIELDS, *ACCEPTANCE_FIELDS]
    return {name: str(form.get(name) or "").strip() for name in names} | {
        "labels": [str(v) for v in form.getlist("labels")],
        "base_models": [str(v) for v in form.getlist("base_models")],
    }


def _request(form: FormData) -> TrainingRequest:
    values = _form_values(form)
    if not values["name"]:
        raise InvalidRequestError("give the classifier a name (letters, digits, '-' or '_')")
    if not values["location"]:
        raise InvalidRequestError("choose a folder: browse the data roots or upload a zip")
    strategy: LongDocumentStrategy = (
        "chunks" if values["long_document_strategy"] == "chunks" else "head"
    )
    mode: Mode = values["mode"] if values["mode"] in ("single", "multi") else "auto"
    evaluation: EvaluationMethod = (
        values["evaluation"] if values["evaluation"] in ("kfold", "holdout") else "auto"
    )
    levels = _levels(values)
    training = TrainingArguments(
        **_numbers(values, TRAINING_FIELDS),
        long_document_strategy=strategy,
        mode=mode,
        evaluation=evaluation,
        depth=levels.depth,
        hierarchical=levels.hierarchical,
    )
    acceptance = AcceptanceCriteria(
        **_numbers(values, ACCEPTANCE_FIELDS),
        beat_baseline=values["beat_baseline"] != "no",
        promote="better" if values["promote"] == "better" else "not_worse",
    )
    chosen = values["base_models"] + ([values["base_model"]] if values["base_model"] else [])
    return TrainingRequest(
        name=values["name"],
        location=values["location"],
        labels=values["labels"],
        base_model=chosen[0] if len(chosen) == 1 else None,
        base_models=tuple(chosen) if len(chosen) > 1 else (),
        training=training,
        acceptance=acceptance,
    )


def _numbers(values: dict[str, Any], spec: dict[str, type]) -> dict[str, Any]:
    """The numbers filled in (an empty field takes the default); the dataclass checks bounds."""
    numbers: dict[str, Any] = {}
    for name, kind in spec.items():
        text = values.get(name) or ""
        if not text:
            continue
        try:
            numbers[name] = kind(text)
        except ValueError:
            word = "a whole number" if kind is int else "a number"
            low, high = FIELD_LIMITS[name]["min"], FIELD_LIMITS[name]["max"]
            raise InvalidRequestError(
                f"{name.replace('_', ' ')} must be {word} from {low:g} to {high:g}; got {text!r}"
            ) from None
    return numbers


async def _form_again(
    request: Request,
    user: Identity,
    values: dict[str, Any],
    *,
    problems: list[dict[str, Any]] | None = None,
    message: str | None = None,
) -> Response:
    """Redirect after the refused POST (a reload does not send it again) to the form with its
    values and problems, signed into the address."""
    refused: dict[str, Any] = {"user": user.username, "values": values, "message": message}
    refused["problems"] = (problems or [])[:MAX_CARRIED_PROBLEMS]
    token = form_serializer(get_runtime(request).settings).dumps(refused)
    return RedirectResponse(f"/ui/new?{urlencode({'retry': token})}", status_code=303)


def _read_refused(settings: Any, user: Identity, token: str) -> dict[str, Any] | None:
    try:
        refused = form_serializer(settings).loads(token, max_age=REFUSED_FORM_SECONDS)
    except BadSignature:
        return None
    if not isinstance(refused, dict) or refused.get("user") != user.username:
        return None
    return {k: refused.get(k) for k in ("values", "problems", "message")}


def _form_with_problems(
    request: Request,
    user: Identity,
    *,
    values: dict[str, Any],
    problems: list[dict[str, Any]] | None,
    message: str | None,
) -> Response:
    settings = get_runtime(request).settings
    location = values.get("location") or ""
    preview = _preview(user, settings, location, _levels(values)) if location else None
    if preview and preview["report"]:
        known = {p["message"] for p in preview["report"]["problems"]}
        preview["report"]["problems"] += [p for p in problems or [] if p["message"] not in known]
    if _failed(preview) and preview and message == preview["error"]:
        message = None  # said once, beside the folder
    context = {
        "nav": "new",
        "form": values,
        "browse": _browse(user, settings, _parent(location), quiet=_failed(preview)),
        "preview": preview,
        "selected": values.get("labels") or [],
        "blocking": problems or [],
        "form_error": message,
        "min_docs": settings.min_docs_per_label,
        "default_base_model": "the bundled all-MiniLM-L6-v2",
        "base_models": _base_model_choices(settings),
        "limits": FIELD_LIMITS,
        "kfold_budget_default": settings.kfold_budget_seconds,
        "options_open": bool(values["base_models"])
        or any(values.get(k) != v for k, v in _default_options().items()),
    }
    return render(request, "new.html", context)


# --- job ---------------------------------------------------------------------------------------


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, user: UiUser, session: SessionDep) -> Response:
    """Live progress: bar, time left, curves, state, cancel."""
    job = jobs.get_job(session, user, job_id)
    view, points = job_view(job), _curves(request, job)
    created = job.created_at
    context = {"job": view, "points": points, "created": created, "nav": "jobs"}
    return render(request, "job.html", context)


def _curves(request: Request, job: JobRecord) -> dict[str, Any]:
    """The points the training recorded; a job from before they were recorded shows the
    per-epoch points its MLflow run logged."""
    if job.curves is not None or not job.run_id:
        return job_curves(job)
    try:
        return run_history.curves_by_epoch(get_runtime(request).registry, job.run_id)
    except Exception:  # noqa: BLE001 - the curve is a nicety; the page must still show
        logger.warning("could not read the curves of run %s", job.run_id)
        return job_curves(job)


@router.get("/jobs/{job_id}/events")
def job_events(
    request: Request, job_id: str, user: UiUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Server-sent events: `job` (the job page's view, with its curves) at each change, `end`
    when it ends."""
    jobs.get_job(session, user, job_id)  # not found before the stream starts

    def load() -> dict[str, Any]:
        with runtime.databases.metadata.sessions() as session:
            job = jobs.get_job(session, user, job_id)
            return job_view(job) | {"points": _curves(request, job)}

    return job_event_stream(load, encode=json.dumps, ended=lambda view: view["terminal"])


@router.post("/jobs/{job_id}/cancel", dependencies=[CsrfChecked])
def cancel_job(job_id: str, user: UiUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    jobs.cancel_job(session, runtime.queue, user, job_id)
    return RedirectResponse(f"/ui/jobs/{job_id}", status_code=303)


@router.get("/jobs/{job_id}/report")
def report_page(
    request: Request, job_id: str, user: UiUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Accepted or rejected and why; scores beside the baseline; per label; confusion; data."""
    job = jobs.get_job(session, user, job_id)
    view = job_view(job)
    if not view["terminal"]:
        return RedirectResponse(f"/ui/jobs/{job_id}", status_code=303)
    if not job.metrics:
        raise ReportNotFoundError(
            f"job {job.name!r} ended {job.status} before its model was evaluated, so it has "
            f"no report; its page /ui/jobs/{job_id} says what happened",
            details={"job_id": job_id, "status": job.status},
        )
    report = report_view(job, runtime.settings)
    registered, points = job.registered_version, _curves(request, job)
    context = {"job": view, "report": report, "version": registered, "points": points}
    return render(request, "report.html", context | {"nav": "jobs"})
