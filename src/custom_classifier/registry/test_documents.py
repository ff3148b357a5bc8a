"""Each run's test documents, recorded as an artifact, and the champion's read back for the
next training of the classifier (`corpus.split.split_corpus(frozen_test=...)`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from custom_classifier.corpus.models import FrozenTest, TestDocuments
from custom_classifier.registry.run_logger import RunLogger
from custom_classifier.registry.tags import CHAMPION
from custom_classifier.registry.tracking import Registry

TEST_DOCUMENTS_ARTIFACT = "test_documents.json"


def log_test_documents(run: RunLogger, documents: TestDocuments) -> None:
    """Content hashes and relative paths of the run's test documents."""
    run.log_dict(documents.to_row(), TEST_DOCUMENTS_ARTIFACT)


def find_champion_test(registry: Registry, owner: str | None, name: str) -> FrozenTest | None:
    """The test documents of the classifier's champion; None when it has no champion, or one
    trained before the test documents were recorded."""
    registered = registry.registered_model_name(owner, name)
    try:
        version = registry.client.get_model_version_by_alias(registered, CHAMPION)
    except MlflowException:
        return None
    if not version.run_id:
        return None
    with tempfile.TemporaryDirectory(prefix="cc-test-documents-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=version.run_id,
                artifact_path=TEST_DOCUMENTS_ARTIFACT,
                dst_path=tmp,
                tracking_uri=registry.tracking_uri,
            )
            row = json.loads(Path(local).read_text(encoding="utf-8"))
        except (MlflowException, OSError, ValueError):
            return None
    return FrozenTest(int(version.version), TestDocuments.from_row(row))
