"""What serves a registered version on a CPU, decided after registration.

A training registers the exact model it judged with `classifier.json` saying
`served: {"cpu_backend": "pending"}` and the version tag `cc.cpu_backend=pending`: every loader
serves the exact backend. Once the int8 file has been made and checked (`training.served`),
`publish_cpu_backend` writes the outcome into the version's model: a passing file first, then
`classifier.json` (a loader that reads the new settings finds the whole file), then the tag,
which the predictor's cache keys on (`ResolvedModel.cache_key`), so a process that had loaded
the exact backend loads the version again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlflow import MlflowClient
from mlflow.models import Model

from custom_classifier.inference.classifier_folder import CLASSIFIER_FILE, ONNX_FILE, read_settings
from custom_classifier.inference.model_uris import MODEL_ARTIFACT_PATH
from custom_classifier.registry.run_endings import MAX_TAG_CHARS
from custom_classifier.registry.tags import TAGS

PENDING = "pending"
"""`served.cpu_backend` and `TAGS.cpu_backend` while the int8 file is made and checked."""
_CLASSIFIER_ARTIFACT = "classifier"  # pyfunc_model.CLASSIFIER_ARTIFACT (not importable here)


def logged_classifier_folder(client: MlflowClient, run_id: str) -> str:
    """The run's artifact folder that holds the classifier folder of its pyfunc model."""
    with tempfile.TemporaryDirectory(prefix="cc-mlmodel-") as tmp:
        local = client.download_artifacts(run_id, f"{MODEL_ARTIFACT_PATH}/MLmodel", tmp)
        artifacts = Model.load(local).flavors["python_function"]["artifacts"]
    return f"{MODEL_ARTIFACT_PATH}/{artifacts[_CLASSIFIER_ARTIFACT]['path']}"


def publish_cpu_backend(
    client: MlflowClient, run_id: str, registered_name: str, version: int, model_dir: Path
) -> str:
    """Copy the checked folder's CPU backend into the run's logged model (the int8 file only
    when `classifier.json` says it passed) and tag the version; returns the backend."""
    served = read_settings(model_dir).get("served") or {}
    backend = str(served.get("cpu_backend", "onnx"))
    folder = logged_classifier_folder(client, run_id)
    if backend == "onnx":
        client.log_artifact(run_id, str(Path(model_dir) / ONNX_FILE), folder)
    client.log_artifact(run_id, str(Path(model_dir) / CLASSIFIER_FILE), folder)
    if served.get("reason"):
        reason = str(served["reason"])[:MAX_TAG_CHARS]
        client.set_model_version_tag(registered_name, str(version), TAGS.cpu_backend_reason, reason)
    client.set_model_version_tag(registered_name, str(version), TAGS.cpu_backend, backend)
    return backend
