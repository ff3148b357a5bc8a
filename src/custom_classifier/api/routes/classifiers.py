"""Classifiers: train one (answers the job), list and show them, move aliases."""

from __future__ import annotations

from fastapi import APIRouter, status

from custom_classifier.api import examples
from custom_classifier.api.deps import CurrentUser, RuntimeDep, SessionDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import (
    AliasUpdate,
    ClassifierCreate,
    ClassifierPublic,
    ClassifiersPublic,
    JobPublic,
    MinScoreUpdate,
)
from custom_classifier.services import classifiers, jobs

router = APIRouter(prefix="/classifiers", tags=["classifiers"])


@router.post(
    "",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Train a classifier",
    responses=errors(
        413,
        422,
        503,
        status_422="Not valid, or the data cannot be trained on (`invalid_dataset`: "
        "`details.report` lists every problem).",
        own_examples={422: examples.INVALID_DATASET},
    ),
)
def create_classifier(
    body: ClassifierCreate, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> JobPublic:
    """Check the labeled folder (every problem is answered at once, 422), then queue a training
    job and answer it (202). Follow it at `GET /jobs/{id}` or `GET /jobs/{id}/events`; an
    accepted model is registered as the next version of the classifier `name`, alias `champion`.
    `training` and `acceptance` override the defaults shown in the schema; `base_models` (a
    list) trains a bake-off of several base models and keeps the best."""
    job = jobs.submit_training(session, runtime.queue, runtime.settings, user, body.to_request())
    return JobPublic.from_record(job)


@router.get("", response_model=ClassifiersPublic, summary="List your classifiers")
def list_classifiers(user: CurrentUser, runtime: RuntimeDep) -> ClassifiersPublic:
    """Your registered classifiers, each with its versions (newest first), aliases and test
    metrics."""
    infos = classifiers.list_classifiers(runtime.registry, user)
    return ClassifiersPublic(data=[ClassifierPublic.from_info(i) for i in infos], count=len(infos))


@router.get(
    "/{name}",
    response_model=ClassifierPublic,
    summary="Show a classifier",
    responses=errors(404, 422),
)
def get_classifier(name: str, user: CurrentUser, runtime: RuntimeDep) -> ClassifierPublic:
    """One of your classifiers by name: its versions, aliases and test metrics."""
    return ClassifierPublic.from_info(classifiers.get_classifier(runtime.registry, user, name))


@router.put(
    "/{name}/aliases/{alias}",
    response_model=ClassifierPublic,
    summary="Move an alias",
    responses=errors(404, 413, 422),
)
def move_alias(
    name: str, alias: str, body: AliasUpdate, user: CurrentUser, runtime: RuntimeDep
) -> ClassifierPublic:
    """Point an alias (for example `champion`, which predictions by name use) at a version:
    roll back or forward. The alias is created when it does not exist yet."""
    info = classifiers.move_alias(runtime.registry, user, name, alias, body.version)
    return ClassifierPublic.from_info(info)


@router.put(
    "/{name}/aliases/{alias}/min-score",
    response_model=ClassifierPublic,
    summary="Set an alias's abstain threshold",
    responses=errors(404, 413, 422),
)
def set_min_score(
    name: str, alias: str, body: MinScoreUpdate, user: CurrentUser, runtime: RuntimeDep
) -> ClassifierPublic:
    """Set `min_score` of the version the alias points at (0 to 1; 0 never abstains): below it
    a prediction answers `label` null and `abstained` true, the scores still there. It applies
    to the next prediction; other versions keep theirs. Recorded in MLflow on the version."""
    info = classifiers.set_min_score(runtime.registry, user, name, alias, body.min_score)
    return ClassifierPublic.from_info(info)
