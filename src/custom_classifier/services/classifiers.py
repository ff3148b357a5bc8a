"""A user's registered classifiers: list, show, and move aliases between versions."""

from __future__ import annotations

import re

from custom_classifier.errors import InvalidRequestError, ModelNotFoundError
from custom_classifier.registry.info import ClassifierInfo
from custom_classifier.registry.tracking import Registry
from custom_classifier.services.users import Identity
from custom_classifier.training.arguments import TrainingArguments, declared_limits

ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def list_classifiers(registry: Registry, user: Identity) -> list[ClassifierInfo]:
    return registry.list_classifiers(user.username)


def get_classifier(registry: Registry, user: Identity, name: str) -> ClassifierInfo:
    """The user's classifier; `ClassifierNotFoundError` when absent or someone else's."""
    return registry.get_classifier(user.username, name)


def move_alias(
    registry: Registry, user: Identity, name: str, alias: str, version: int
) -> ClassifierInfo:
    """Point `alias` at `version` (roll back or forward); predictions follow at once."""
    _check_alias(alias)
    registry.set_alias(user.username, name, alias, version)
    return registry.get_classifier(user.username, name)


def set_min_score(
    registry: Registry, user: Identity, name: str, alias: str, min_score: float
) -> ClassifierInfo:
    """Set the abstain threshold of the version `alias` points at (recorded in MLflow on that
    version); every prediction of it applies the new one at once."""
    low, high = declared_limits(TrainingArguments, "min_score")
    if not low <= min_score <= high:  # also refuses NaN
        raise InvalidRequestError(
            f"min_score must be between {low} and {high}; got {min_score}. Use 0 to never "
            "abstain, or the threshold the training report suggests",
            details={"min_score": min_score},
        )
    _check_alias(alias)
    info = registry.get_classifier(user.username, name)
    if alias not in info.aliases:
        known = ", ".join(sorted(info.aliases)) or "none"
        raise ModelNotFoundError(
            f"classifier {name!r} has no alias {alias!r}; its aliases: {known}. Point one at a "
            f"version first (PUT /classifiers/{name}/aliases/{alias})",
            details={"name": name, "alias": alias, "aliases": sorted(info.aliases)},
        )
    registry.set_min_score(user.username, name, alias, min_score)
    return registry.get_classifier(user.username, name)


def _check_alias(alias: str) -> None:
    if not ALIAS.fullmatch(alias) or alias.lower().startswith("v") and alias[1:].isdigit():
        raise InvalidRequestError(
            f"alias {alias!r} is not allowed; use letters, digits, '-' or '_', starting with a "
            "letter, and not v<number> (MLflow reserves it)",
            details={"alias": alias},
        )
