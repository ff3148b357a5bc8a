"""Classify texts or a file with one of the user's models, named by run id or classifier."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from custom_classifier.errors import ModelNotFoundError
from custom_classifier.inference.predictor import Predictor
from custom_classifier.registry.tracking import Registry, registered_model_name
from custom_classifier.services.classifiers import ALIAS
from custom_classifier.services.users import Identity

DEFAULT_ALIAS = "champion"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class RunOwners:
    """Who owns each run (it never changes), so a warm prediction costs no MLflow query."""

    def __init__(self, registry: Registry, capacity: int = 1024) -> None:
        self._registry = registry
        self._owners: dict[str, str | None] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def model_uri(self, user: Identity, run_id: str) -> str:
        """`runs:/<id>/model` of the user's run; `ModelNotFoundError` for anyone else's."""
        if _RUN_ID.match(run_id) is None or self._owner(run_id) != user.username:
            raise ModelNotFoundError(
                f"no model for run {run_id!r}; use the run id of one of your finished jobs",
                details={"run_id": run_id},
            )
        return f"runs:/{run_id}/model"

    def _owner(self, run_id: str) -> str | None:
        with self._lock:
            if run_id in self._owners:
                return self._owners[run_id]
        run = self._registry.find_run(run_id)
        owner = run.owner if run is not None and run.outcome in ("accepted", "rejected") else None
        if owner is not None:
            with self._lock:
                if len(self._owners) >= self._capacity:
                    self._owners.clear()
                self._owners[run_id] = owner
        return owner


def classifier_model_uri(user: Identity, name: str, ref: str | None) -> str:
    """`models:/<owner>.<name>/<version>` for a number, `models:/<owner>.<name>@<alias>` else."""
    registered = registered_model_name(user.username, name)
    ref = ref or DEFAULT_ALIAS
    if ref.isdigit() and int(ref) > 0:
        return f"models:/{registered}/{int(ref)}"
    if not ALIAS.match(ref):
        raise ModelNotFoundError(
            f"{ref!r} is neither a version number nor an alias of classifier {name!r}",
            details={"name": name, "version": ref},
        )
    return f"models:/{registered}@{ref}"


def predict_texts(
    predictor: Predictor, model_uri: str, texts: Sequence[str]
) -> list[dict[str, Any]]:
    """`{"label", "score", "scores"}` for each text."""
    return predictor.predict_texts(model_uri, texts)


def predict_file(
    predictor: Predictor, model_uri: str, filename: str, data: bytes
) -> dict[str, Any]:
    """Extract the text of an uploaded PDF, DOCX, HTML or text file and classify it."""
    return predictor.predict_file(model_uri, filename, data)
