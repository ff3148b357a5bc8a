"""Ending a run that did not finish, and taking back what it registered.

Registration is the last step of a run, so a run that ends any other way than FINISHED must
leave no model version behind: a version whose run failed would serve predictions nobody
accepted. Its `champion` alias goes back to the version it pointed at before.
"""

from __future__ import annotations

import logging

from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.entities.model_registry import ModelVersion

from custom_classifier.registry.tags import CHAMPION, TAGS

logger = logging.getLogger(__name__)

MAX_TAG_CHARS = 5000


def end_run(client: MlflowClient, run_id: str, status: int, tags: dict[str, str]) -> bool:
    """End the run with `status` and `tags` if it is still RUNNING; False when it had ended.

    The first ending wins: a worker given up for dead that comes back later does not overwrite
    the reason its run was stopped for.
    """
    if client.get_run(run_id).info.status != RunStatus.to_string(RunStatus.RUNNING):
        return False
    try:
        for key, value in tags.items():
            client.set_tag(run_id, key, value[:MAX_TAG_CHARS])
    finally:
        client.set_terminated(run_id, RunStatus.to_string(status))
    return True


def discard_versions(client: MlflowClient, run_id: str) -> list[str]:
    """Delete the model versions registered from `run_id`; returns them as `name/version`."""
    discarded = []
    for version in client.search_model_versions(f"run_id = '{run_id}'"):
        _discard(client, version)
        discarded.append(f"{version.name}/{version.version}")
    if discarded:
        logger.warning("run %s did not finish: deleted its versions %s", run_id, discarded)
    return discarded


def _discard(client: MlflowClient, version: ModelVersion) -> None:
    aliases = client.get_registered_model(version.name).aliases or {}
    was_champion = str(aliases.get(CHAMPION)) == str(version.version)
    client.delete_model_version(version.name, version.version)
    if was_champion:
        previous = (version.tags or {}).get(TAGS.previous_champion, "")
        _restore_champion(client, version.name, previous)


def _restore_champion(client: MlflowClient, name: str, previous: str) -> None:
    """`champion` back on `previous`, or on the newest version left when that one is gone."""
    remaining = {str(v.version) for v in client.search_model_versions(f"name = '{name}'")}
    target = previous if previous in remaining else max(remaining, key=int, default=None)
    if target is not None:
        client.set_registered_model_alias(name, CHAMPION, target)
