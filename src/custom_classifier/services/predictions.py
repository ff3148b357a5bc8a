"""Classify texts or a file with one of the user's models, named by run id or classifier."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from custom_classifier.errors import InvalidRequestError, ModelNotFoundError
from custom_classifier.inference.model_uris import run_model_uri
from custom_classifier.inference.predictor import Predictor, resolve_model_uri
from custom_classifier.limits import MAX_VERSION
from custom_classifier.registry.tags import CHAMPION
from custom_classifier.registry.tracking import Registry, registered_model_name
from custom_classifier.services.classifiers import ALIAS
from custom_classifier.services.users import Identity

DEFAULT_ALIAS = CHAMPION
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_VERSION = re.compile(r"[0-9]{1,10}")


class RunOwners:
    """Who owns each run (it never changes), so a warm prediction costs no MLflow query."""

    def __init__(self, registry: Registry, capacity: int = 1024) -> None:
        self._registry = registry
        self._owners: dict[str, str | None] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def model_uri(self, user: Identity, run_id: str) -> str:
        """`runs:/<id>/model` of the user's run; `ModelNotFoundError` for anyone else's."""
        if _RUN_ID.fullmatch(run_id) is None or self._owner(run_id) != user.username:
            raise ModelNotFoundError(
                f"no model for run {run_id!r}; use the run id of one of your finished jobs",
                details={"run_id": run_id},
            )
        return run_model_uri(run_id)

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
    if _VERSION.fullmatch(ref) and 0 < int(ref) <= MAX_VERSION:
        return f"models:/{registered}/{int(ref)}"
    if not ALIAS.fullmatch(ref):
        shown = ref if len(ref) <= 40 else ref[:40] + "..."
        raise ModelNotFoundError(
            f"{shown!r} is neither a version number (1 to {MAX_VERSION}) nor an alias of "
            f"classifier {name!r}; pick a version or alias listed by GET /classifiers/{name}",
            details={"name": name, "version": shown},
        )
    return f"models:/{registered}@{ref}"


def predict_texts(
    predictor: Predictor,
    model_uri: str,
    texts: Sequence[str],
    thresholds: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """`{"label", "score", "scores"}` for each text (multi-label: and `labels`)."""
    return predictor.predict_texts(model_uri, texts, thresholds)


def predict_file(
    predictor: Predictor, model_uri: str, filename: str, data: bytes
) -> dict[str, Any]:
    """Extract the text of an uploaded PDF, DOCX, HTML or text file and classify it."""
    return predictor.predict_file(model_uri, filename, data)


def predict_texts_by_name(
    predictor: Predictor,
    registry: Registry,
    user: Identity,
    name: str,
    ref: str | None,
    texts: Sequence[str],
    thresholds: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Classify with a version or alias (default `champion`) of one of the user's classifiers;
    a missing one is explained by its public name, never by its registry URI."""
    uri = classifier_model_uri(user, name, ref)
    try:
        return predictor.predict_texts(uri, texts, thresholds)
    except ModelNotFoundError:
        raise missing_model(registry, user, name, ref) from None


def predict_file_by_name(
    predictor: Predictor,
    registry: Registry,
    user: Identity,
    name: str,
    ref: str | None,
    filename: str,
    data: bytes,
) -> dict[str, Any]:
    """`predict_texts_by_name` for an uploaded document."""
    uri = classifier_model_uri(user, name, ref)
    try:
        return predictor.predict_file(uri, filename, data)
    except ModelNotFoundError:
        raise missing_model(registry, user, name, ref) from None


def resolved_model_uri(
    predictor: Predictor, registry: Registry, user: Identity, reference: str | NamedModel
) -> str:
    """The URI of a parsed reference; a named classifier is loaded first, so that a missing one
    is explained by its public name."""
    if isinstance(reference, str):
        return reference
    uri = classifier_model_uri(user, reference.name, reference.ref)
    try:
        predictor.classifier(uri)
    except ModelNotFoundError:
        raise missing_model(registry, user, reference.name, reference.ref) from None
    return uri


def missing_model(
    registry: Registry, user: Identity, name: str, ref: str | None
) -> ModelNotFoundError:
    """Why `name` has no model at `ref`: `ClassifierNotFoundError` (raised, with the names that
    exist) when there is no such classifier, else the versions and aliases it has."""
    info = registry.get_classifier(user.username, name)
    versions = ", ".join(str(v.version) for v in sorted(info.versions, key=lambda v: v.version))
    aliases = ", ".join(f"{a} (version {v})" for a, v in sorted(info.aliases.items()))
    return ModelNotFoundError(
        f"classifier {name!r} has no version or alias {ref or DEFAULT_ALIAS!r}; its versions: "
        f"{versions or 'none'}; its aliases: {aliases or 'none'}",
        details={"name": name, "version": ref or DEFAULT_ALIAS},
    )


@dataclass(frozen=True)
class NamedModel:
    """A classifier of the user, by its public name, and a version number or alias."""

    name: str
    ref: str | None = None


_NAMED = re.compile(
    r"^(?:models:/)?(?P<name>[^/@\s]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))?$"
)


def parse_model_reference(ref: str, user: Identity) -> str | NamedModel:
    """What a person types to name a model: a run id (-> `runs:/<id>/model`), or a classifier
    as `NAME`, `NAME@ALIAS`, `NAME/VERSION`, or the same after `models:/`. The classifier is the
    user's; its registry name (`<user>.NAME`) is accepted too."""
    ref = ref.strip()
    if _RUN_ID.match(ref) or ref.startswith("runs:/"):
        return resolve_model_uri(ref)
    match = _NAMED.match(ref)
    if match is None:
        raise InvalidRequestError(
            f"{ref!r} is not a model reference; expected a run id (32 hexadecimal characters) "
            "or a classifier as NAME, NAME@ALIAS, NAME/VERSION or models:/NAME@ALIAS",
            details={"model": ref},
        )
    name = match["name"].removeprefix(f"{user.username}.")
    return NamedModel(name, match["version"] or match["alias"])
