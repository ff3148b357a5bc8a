"""What the registry tells its callers about runs and registered classifiers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from custom_classifier.inference.model_uris import run_model_uri
from custom_classifier.registry.tags import CHAMPION


@dataclass(frozen=True)
class RunInfo:
    """One training run; callers compare `owner` with the user before showing it."""

    run_id: str
    owner: str | None
    classifier: str | None
    outcome: str | None
    """accepted | rejected | failed | cancelled; None while running or when never decided."""
    status: str
    """MLflow status: RUNNING, FINISHED, FAILED or KILLED."""
    metrics: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def model_uri(self) -> str:
        return run_model_uri(self.run_id)


@dataclass(frozen=True)
class VersionInfo:
    version: int
    run_id: str | None
    created_at: datetime
    model_uri: str
    """`models:/<registered name>/<version>`."""
    aliases: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    min_score: float | None = None
    """The abstain threshold (`TAGS.min_score`); None for a version registered before it was
    recorded there (its `classifier.json` holds the one set at training)."""


@dataclass(frozen=True)
class ResolvedModel:
    """A model URI pinned to a version, and the version's abstain threshold when it has one."""

    uri: str
    min_score: float | None = None
    cpu_backend: str | None = None
    """The version's `TAGS.cpu_backend`: a loaded copy is stale once it changes."""

    @property
    def cache_key(self) -> str:
        """The URI, and the CPU backend it was loaded with when the version records one."""
        return self.uri if self.cpu_backend is None else f"{self.uri}#cpu={self.cpu_backend}"


@dataclass(frozen=True)
class ClassifierInfo:
    name: str
    """The name the owner chose."""
    registered_name: str
    """The MLflow registered model name (`<owner>.<name>`, or `<name>` without owner)."""
    owner: str | None
    created_at: datetime
    versions: list[VersionInfo]
    """Newest first."""
    aliases: dict[str, int] = field(default_factory=dict)

    @property
    def champion(self) -> VersionInfo | None:
        return next((v for v in self.versions if CHAMPION in v.aliases), None)
