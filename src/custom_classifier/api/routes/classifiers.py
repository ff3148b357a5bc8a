"""Classifiers: train one (answers the job), list and show them, move aliases."""

from __future__ import annotations

from fastapi import APIRouter, status

from custom_classifier.api.deps import CurrentUser, RuntimeDep, SessionDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import (
    AliasUpdate,
    ClassifierCreate,
    ClassifierPublic,
    ClassifiersPublic,
    JobPublic,
)
from custom_classifier.services import classifiers, jobs
from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments

router = APIRouter(prefix="/classifiers", tags=["classifiers"])


@router.post(
    "",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(
        413,
        422,
        503,
        status_422="Not valid, or the data cannot be trained on (`invalid_dataset`: "
        "`details.report` lists every problem).",
    ),
)
def create_classifier(
    body: ClassifierCreate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> JobPublic:
    """Check the folder, then queue a training job; follow it at `/jobs/{id}`."""
    spec = jobs.TrainingSpec(
        name=body.name,
        location=body.location,
        labels=body.labels,
        base_model=body.base_model,
        base_models=body.base_models,
        training=body.training or TrainingArguments(),
        acceptance=body.acceptance or AcceptanceCriteria(),
    )
    job = jobs.submit_training(session, runtime.queue, runtime.settings, user, spec)
    return JobPublic.from_record(job)


@router.get("", response_model=ClassifiersPublic)
def list_classifiers(user: CurrentUser, runtime: RuntimeDep) -> ClassifiersPublic:
    """Your registered classifiers with their versions, aliases and metrics."""
    infos = classifiers.list_classifiers(runtime.registry, user)
    return ClassifiersPublic(data=[ClassifierPublic.from_info(i) for i in infos], count=len(infos))


@router.get("/{name}", response_model=ClassifierPublic, responses=errors(404, 422))
def get_classifier(name: str, user: CurrentUser, runtime: RuntimeDep) -> ClassifierPublic:
    return ClassifierPublic.from_info(classifiers.get_classifier(runtime.registry, user, name))


@router.put(
    "/{name}/aliases/{alias}", response_model=ClassifierPublic, responses=errors(404, 413, 422)
)
def move_alias(
    name: str, alias: str, body: AliasUpdate, user: CurrentUser, runtime: RuntimeDep
) -> ClassifierPublic:
    """Point an alias (for example `champion`) at a version: roll back or forward."""
    info = classifiers.move_alias(runtime.registry, user, name, alias, body.version)
    return ClassifierPublic.from_info(info)
