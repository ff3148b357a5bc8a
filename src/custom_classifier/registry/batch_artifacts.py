"""A batch prediction's side of the registry: which run made a model, and keeping the job's
output files as artifacts of that run (`batch_predictions/<job id>/`)."""

from __future__ import annotations

import re
from pathlib import Path

from mlflow.exceptions import MlflowException

from custom_classifier.errors import ModelNotFoundError
from custom_classifier.registry.tracking import Registry

BATCH_ARTIFACT_FOLDER = "batch_predictions"
_RUN_URI = re.compile(r"^runs:/(?P<run_id>[0-9a-f]{32})/model$")
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>[0-9]+)$")


def pin_model(registry: Registry, model_uri: str) -> tuple[str, str]:
    """(`model_uri` with an alias replaced by its version, the id of the run that made it).

    A job pins its model when it is submitted: moving `champion` meanwhile must not change
    the model half-way through a folder, nor between a killed attempt and the next.
    """
    pinned = registry.resolve_alias(model_uri)
    run = _RUN_URI.match(pinned)
    if run is not None:
        return pinned, run["run_id"]
    version = _VERSION_URI.match(pinned)
    if version is None:
        raise _not_found(model_uri)
    try:
        found = registry.client.get_model_version(version["name"], version["version"])
    except MlflowException:
        raise _not_found(model_uri) from None
    if not found.run_id:
        raise _not_found(model_uri)
    return pinned, str(found.run_id)


def artifact_path(job_id: str) -> str:
    """Where a job's files sit among the artifacts of its model's run."""
    return f"{BATCH_ARTIFACT_FOLDER}/{job_id}"


def log_batch_output(registry: Registry, run_id: str, job_id: str, folder: Path) -> str:
    """Copy every file of `folder` under `batch_predictions/<job id>/` of the run; returns that
    path. Logging again (a resumed job) replaces the files."""
    path = artifact_path(job_id)
    registry.client.log_artifacts(run_id, str(folder), artifact_path=path)
    return path


def _not_found(model_uri: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"no model found at {model_uri!r}; give the run id of one of your finished trainings, "
        "or a classifier with a version or alias it has",
        details={"model_uri": model_uri},
    )
