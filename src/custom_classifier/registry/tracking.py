"""`Registry`: MLflow runs, registered classifiers, aliases and model loading, per owner."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run, RunStatus
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from custom_classifier.errors import (
    ClassifierNotFoundError,
    ConflictError,
    InvalidRequestError,
    ModelNotFoundError,
    TrainingCancelledError,
    WorkerInterrupted,
)
from custom_classifier.inference.model_uris import MODEL_ARTIFACT_PATH
from custom_classifier.registry import tags as keys
from custom_classifier.registry.info import ClassifierInfo, ResolvedModel, RunInfo, VersionInfo
from custom_classifier.registry.packaging import MODEL_CODE_LOCK
from custom_classifier.registry.run_endings import MAX_TAG_CHARS, discard_versions, end_run
from custom_classifier.registry.run_logger import RunLogger
from custom_classifier.registry.tags import TAGS

if TYPE_CHECKING:
    from custom_classifier.inference.text_classifier import TextClassifier

logger = logging.getLogger(__name__)


class OwnerAccess(Protocol):
    """What `Registry` calls when it creates an owner's experiment or registered model
    (`accounts.MlflowAccounts` on a tracking server with accounts)."""

    def grant_experiment(self, owner: str, experiment_id: str) -> None: ...

    def grant_registered_model(self, owner: str, name: str) -> None: ...


def registered_model_name(owner: str | None, name: str) -> str:
    """MLflow registered model name: `<owner>.<name>`, or `<name>` without owner."""
    return name if owner is None else f"{owner}.{name}"


def experiment_name(owner: str | None) -> str:
    return f"cc/{owner or 'local'}"


class Registry:
    """Every training is a run in the owner's experiment `cc/<owner>`; accepted models are
    registered as `<owner>.<name>` with the alias `champion` on the newest version."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_root: Path | None = None,
        *,
        access: OwnerAccess | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self._access = access
        self.artifact_root = artifact_root or _default_artifact_root(tracking_uri)
        self._client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    registered_model_name = staticmethod(registered_model_name)

    @property
    def client(self) -> MlflowClient:
        """The MLflow client on this registry's store, for the registry package's helpers."""
        return self._client

    # -- runs -----------------------------------------------------------------------------------

    @contextmanager
    def start_run(
        self, owner: str | None, classifier_name: str, tags: dict[str, Any] | None = None
    ) -> Iterator[RunLogger]:
        """A run that always ends: FINISHED, FAILED (an error) or KILLED (cancelled, or its
        process stopped), with the reason as a tag. A run that does not finish keeps no version."""
        run_tags = {key: str(value) for key, value in (tags or {}).items()}
        run_tags[TAGS.classifier] = classifier_name
        if owner is not None:
            run_tags[TAGS.owner] = owner
        run = self._client.create_run(
            self._experiment_id(owner), run_name=classifier_name, tags=run_tags
        )
        run_id = run.info.run_id
        try:
            yield RunLogger(self._client, run_id)
        except TrainingCancelledError as exc:
            cancelled = {TAGS.outcome: keys.OUTCOME_CANCELLED, TAGS.stop_reason: exc.message}
            self._end_unfinished(run_id, RunStatus.KILLED, cancelled)
            raise
        except (WorkerInterrupted, KeyboardInterrupt, SystemExit) as exc:
            reason = exc.reason if isinstance(exc, WorkerInterrupted) else _stopped(exc)
            interrupted = {TAGS.outcome: keys.OUTCOME_INTERRUPTED, TAGS.stop_reason: reason}
            self._end_unfinished(run_id, RunStatus.KILLED, interrupted)
            raise
        except BaseException as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            failed = {TAGS.outcome: keys.OUTCOME_FAILED, TAGS.error: error}
            self._end_unfinished(run_id, RunStatus.FAILED, failed)
            raise
        else:
            self._client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))

    def mark_rejected(self, run_id: str, reasons: list[str]) -> None:
        """Tag a finished run whose model did not pass the acceptance criteria."""
        self._client.set_tag(run_id, TAGS.outcome, keys.OUTCOME_REJECTED)
        self._client.set_tag(run_id, TAGS.reasons, json.dumps(reasons)[:MAX_TAG_CHARS])

    def find_run(self, run_id: str) -> RunInfo | None:
        """The run, or None when there is none with this id."""
        try:
            run = self._client.get_run(run_id)
        except MlflowException:
            return None
        return _run_info(run)

    def ping(self) -> None:
        """Raise when the tracking store cannot be reached: one small query, for readiness."""
        self._client.search_experiments(max_results=1)

    # -- registered classifiers -----------------------------------------------------------------

    def register(
        self,
        run_id: str,
        owner: str | None,
        classifier_name: str,
        *,
        alias: str = keys.CHAMPION,
        min_score: float | None = None,
        cpu_backend: str | None = None,
    ) -> int:
        """Register the run's model as a new version and move `alias` (`champion`, or
        `challenger` for a version the gate did not promote) to it.

        `min_score` and `cpu_backend`, when given, are recorded on the version (`TAGS`). The version
        remembers where `champion` was: should the run not finish, the version is
        deleted and `champion` goes back (`run_endings.discard_versions`).
        """
        name = registered_model_name(owner, classifier_name)
        self._ensure_registered_model(name, owner)
        run = self._client.get_run(run_id)
        source = f"{run.info.artifact_uri}/{MODEL_ARTIFACT_PATH}"
        previous = (self._client.get_registered_model(name).aliases or {}).get(keys.CHAMPION)
        version_tags = {TAGS.previous_champion: str(previous or "")}
        if min_score is not None:
            version_tags[TAGS.min_score] = str(min_score)
        if cpu_backend is not None:
            version_tags[TAGS.cpu_backend] = cpu_backend
        if owner is not None:
            version_tags[TAGS.owner] = owner
        version = self._client.create_model_version(
            name, source, run_id=run_id, tags=version_tags, await_creation_for=60
        )
        self._client.set_registered_model_alias(name, alias, version.version)
        self._client.set_tag(run_id, TAGS.outcome, keys.OUTCOME_ACCEPTED)
        return int(version.version)

    def publish_cpu_backend(
        self, run_id: str, registered_name: str, version: int, model_dir: Path
    ) -> str:
        """Make the checked folder's CPU backend the one that serves `version`
        (`cpu_backend.publish_cpu_backend`); returns it (`onnx` or `torch`)."""
        from custom_classifier.registry.cpu_backend import publish_cpu_backend

        return publish_cpu_backend(self._client, run_id, registered_name, version, model_dir)

    def mark_cpu_backend(self, registered_name: str, version: int, reason: str | None) -> None:
        """Record on the version that the exact model serves on CPUs, and why."""
        tags = {TAGS.cpu_backend_reason: (reason or "")[:MAX_TAG_CHARS], TAGS.cpu_backend: "torch"}
        for key, value in tags.items():
            self._client.set_model_version_tag(registered_name, str(version), key, value)

    def list_classifiers(self, owner: str | None) -> list[ClassifierInfo]:
        """The owner's registered classifiers, by name."""
        models = [m for m in self._all_registered_models() if _owner_of(m) == owner]
        return sorted((self._classifier_info(m) for m in models), key=lambda c: c.name)

    def get_classifier(self, owner: str | None, name: str) -> ClassifierInfo:
        """The owner's classifier; `ClassifierNotFoundError` when absent or someone else's."""
        return self._classifier_info(self._owned_model(owner, name))

    def set_alias(self, owner: str | None, name: str, alias: str, version: int) -> None:
        """Point `alias` (for example `champion`) at an existing version."""
        model = self._owned_model(owner, name)
        self._get_version(model.name, version)
        try:
            self._client.set_registered_model_alias(model.name, alias, str(version))
        except MlflowException as exc:
            raise InvalidRequestError(f"alias {alias!r} cannot be set: {exc.message}") from None

    def set_min_score(self, owner: str | None, name: str, alias: str, min_score: float) -> int:
        """Set the abstain threshold of the version `alias` points at; returns that version.
        Predictions read it with the version (`resolve_model`), so no cache keeps the old one."""
        model = self._owned_model(owner, name)
        version = self.resolve_alias(f"models:/{model.name}@{alias}").rpartition("/")[2]
        self._client.set_model_version_tag(model.name, version, TAGS.min_score, str(min_score))
        return int(version)

    def resolve_model(self, model_uri: str) -> ResolvedModel:
        """`resolve_alias`, and the abstain threshold of a registered version (one query)."""
        if not model_uri.startswith("models:/"):
            return ResolvedModel(model_uri)
        name, separator, alias = model_uri.removeprefix("models:/").rpartition("@")
        try:
            if separator:
                version = self._client.get_model_version_by_alias(name, alias)
            else:
                name, _, number = model_uri.removeprefix("models:/").rpartition("/")
                version = self._client.get_model_version(name, number)
        except MlflowException:
            raise _model_not_found(model_uri) from None
        cpu_backend = (version.tags or {}).get(TAGS.cpu_backend)
        return ResolvedModel(f"models:/{name}/{version.version}", _min_score(version), cpu_backend)

    def resolve_alias(self, model_uri: str) -> str:
        """`models:/<name>@<alias>` -> `models:/<name>/<version>`; other URIs unchanged."""
        if not model_uri.startswith("models:/") or "@" not in model_uri:
            return model_uri
        name, _, alias = model_uri.removeprefix("models:/").rpartition("@")
        try:
            version = self._client.get_model_version_by_alias(name, alias)
        except MlflowException:
            raise _model_not_found(model_uri) from None
        return f"models:/{name}/{version.version}"

    # -- models ---------------------------------------------------------------------------------

    def load_text_classifier(self, model_uri: str) -> TextClassifier:
        """Load a logged or registered model (`runs:/`, `models:/name/1`, `models:/name@alias`)."""
        with tempfile.TemporaryDirectory(prefix="cc-load-") as tmp:
            local = self._download_model(model_uri, Path(tmp))
            with MODEL_CODE_LOCK:
                pyfunc = mlflow.pyfunc.load_model(str(local))
        return pyfunc.unwrap_python_model().classifier  # type: ignore[no-any-return]

    def _artifact_uri(self, model_uri: str) -> str:
        """Where a `models:/` URI's files are; MLflow would ask the *global* registry URI."""
        if not model_uri.startswith("models:/"):
            return model_uri
        pinned = self.resolve_alias(model_uri)
        name, _, version = pinned.removeprefix("models:/").rpartition("/")
        if not name or not version.isdigit():
            raise _model_not_found(model_uri)
        try:
            return str(self._client.get_model_version_download_uri(name, version))
        except MlflowException:
            raise _model_not_found(model_uri) from None

    def _download_model(self, model_uri: str, destination: Path) -> Path:
        artifact_uri = self._artifact_uri(model_uri)
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=artifact_uri,
                    dst_path=str(destination),
                    tracking_uri=self.tracking_uri,
                    registry_uri=self.tracking_uri,
                )
            )
        except (MlflowException, OSError):
            raise _model_not_found(model_uri) from None
        if not (local / "MLmodel").is_file():
            raise _model_not_found(model_uri)
        return local

    # -- helpers --------------------------------------------------------------------------------

    def _experiment_id(self, owner: str | None) -> str:
        name = experiment_name(owner)
        with self._lock:
            if name not in self._experiments:
                experiment_id = self._get_or_create_experiment(name)
                if self._access is not None and owner is not None:
                    self._access.grant_experiment(owner, experiment_id)
                self._experiments[name] = experiment_id
            return self._experiments[name]

    def _get_or_create_experiment(self, name: str) -> str:
        experiment = self._client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":  # deleted in the MLflow UI: runs need it
                self._client.restore_experiment(experiment.experiment_id)
            return str(experiment.experiment_id)
        location = None
        if self.artifact_root is not None and _has_local_artifacts(self.tracking_uri):
            location = (Path(self.artifact_root) / name).resolve().as_uri()
        try:
            return str(self._client.create_experiment(name, artifact_location=location))
        except MlflowException:  # created meanwhile by another process
            experiment = self._client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return str(experiment.experiment_id)

    def _ensure_registered_model(self, name: str, owner: str | None) -> None:
        self._find_or_create_registered_model(name, owner)
        if self._access is not None and owner is not None:
            self._access.grant_registered_model(owner, name)

    def _find_or_create_registered_model(self, name: str, owner: str | None) -> None:
        try:
            model = self._client.get_registered_model(name)
        except MlflowException:
            owner_tags = {} if owner is None else {TAGS.owner: owner}
            try:
                self._client.create_registered_model(name, tags=owner_tags)
                return
            except MlflowException:  # created meanwhile
                model = self._client.get_registered_model(name)
        if _owner_of(model) != owner:
            raise ConflictError(
                f"the registered model {name!r} belongs to another owner; "
                "choose another classifier name"
            )

    def _owned_model(self, owner: str | None, name: str) -> RegisteredModel:
        registered = registered_model_name(owner, name)
        try:
            model = self._client.get_registered_model(registered)
        except MlflowException:
            model = None
        if model is None or _owner_of(model) != owner:
            raise self._classifier_not_found(owner, name)
        return model

    def _classifier_not_found(self, owner: str | None, name: str) -> ClassifierNotFoundError:
        names = self.classifier_names(owner)
        known = f"the classifiers that exist: {', '.join(names)}" if names else "none exists yet"
        return ClassifierNotFoundError(
            f"no classifier named {name!r}; {known}",
            details={"name": name, "classifiers": names},
        )

    def classifier_names(self, owner: str | None) -> list[str]:
        """The names of the owner's registered classifiers, sorted (one query, no versions)."""
        prefix = "" if owner is None else f"{owner}."
        models = [m for m in self._all_registered_models() if _owner_of(m) == owner]
        return sorted(m.name.removeprefix(prefix) for m in models)

    def _get_version(self, registered: str, version: int) -> ModelVersion:
        try:
            return self._client.get_model_version(registered, str(version))
        except MlflowException:
            raise _model_not_found(f"models:/{registered}/{version}") from None

    def _all_registered_models(self) -> list[RegisteredModel]:
        models: list[RegisteredModel] = []
        token = None
        while True:
            page = self._client.search_registered_models(max_results=1000, page_token=token)
            models.extend(page)
            token = page.token
            if not token:
                return models

    def _classifier_info(self, model: RegisteredModel) -> ClassifierInfo:
        owner = _owner_of(model)
        versions = self._client.search_model_versions(f"name = '{model.name}'")
        aliases: dict[str, int] = {a: int(v) for a, v in (model.aliases or {}).items()}
        infos = [self._version_info(model.name, v, aliases) for v in versions]
        return ClassifierInfo(
            name=model.name if owner is None else model.name.removeprefix(f"{owner}."),
            registered_name=model.name,
            owner=owner,
            created_at=_datetime(model.creation_timestamp),
            versions=sorted(infos, key=lambda v: v.version, reverse=True),
            aliases=aliases,
        )

    def _version_info(
        self, registered: str, version: ModelVersion, aliases: dict[str, int]
    ) -> VersionInfo:
        number = int(version.version)
        metrics: dict[str, float] = {}
        if version.run_id:
            run_metrics = self._client.get_run(version.run_id).data.metrics
            metrics = {
                key: run_metrics[source]
                for key, source in keys.SUMMARY_METRICS.items()
                if source in run_metrics
            }
        return VersionInfo(
            version=number,
            run_id=version.run_id or None,
            created_at=_datetime(version.creation_timestamp),
            model_uri=f"models:/{registered}/{number}",
            aliases=sorted(a for a, v in aliases.items() if v == number),
            metrics=metrics,
            min_score=_min_score(version),
        )

    def _end_unfinished(self, run_id: str, status: int, outcome_tags: dict[str, str]) -> None:
        """End the run and delete what it registered, without hiding why it ended: a failure
        here is logged, and the job's reaper ends the run later."""
        try:
            end_run(self._client, run_id, status, outcome_tags)
            discard_versions(self._client, run_id)
        except Exception:  # noqa: BLE001 - the exception that ended the run must propagate
            logger.warning("could not end the run %s", run_id, exc_info=True)


def _stopped(exc: BaseException) -> str:
    return f"the process running the training was stopped ({type(exc).__name__})"


def _default_artifact_root(tracking_uri: str) -> Path | None:
    """Next to the SQLite file (`<home>/mlartifacts`), like `Settings.artifact_root`."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite" and tracking_uri.startswith("sqlite:///"):
        database = tracking_uri.removeprefix("sqlite:///")
        if database and database != ":memory:":
            return Path(database).parent / "mlartifacts"
    return None


def _has_local_artifacts(tracking_uri: str) -> bool:
    """A tracking server decides where artifacts go; a database store needs a folder from us."""
    return urlparse(tracking_uri).scheme not in ("http", "https", "databricks")


def _owner_of(model: RegisteredModel) -> str | None:
    return (model.tags or {}).get(TAGS.owner) or None


def _min_score(version: ModelVersion) -> float | None:
    value = (version.tags or {}).get(TAGS.min_score)
    return None if value is None else float(value)


def _datetime(milliseconds: int | None) -> datetime:
    return datetime.fromtimestamp((milliseconds or 0) / 1000, tz=UTC)


def _model_not_found(model_uri: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"no model found at {model_uri!r}; expected runs:/<run id>/model of a finished training, "
        "models:/<name>/<version> or models:/<name>@<alias> of a registered classifier",
        details={"model_uri": model_uri},
    )


def _run_info(run: Run) -> RunInfo:
    run_tags = run.data.tags
    reasons = json.loads(run_tags[TAGS.reasons]) if TAGS.reasons in run_tags else []
    return RunInfo(
        run_id=run.info.run_id,
        owner=run_tags.get(TAGS.owner) or None,
        classifier=run_tags.get(TAGS.classifier),
        outcome=run_tags.get(TAGS.outcome),
        status=run.info.status,
        metrics=dict(run.data.metrics),
        reasons=reasons,
        error=run_tags.get(TAGS.error),
        started_at=_datetime(run.info.start_time) if run.info.start_time else None,
        ended_at=_datetime(run.info.end_time) if run.info.end_time else None,
    )
