"""A user's registered classifiers: list, show, and move aliases between versions."""

from __future__ import annotations

import re

from custom_classifier.errors import InvalidRequestError
from custom_classifier.registry.info import ClassifierInfo
from custom_classifier.registry.tracking import Registry
from custom_classifier.services.users import Identity

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
    if not ALIAS.fullmatch(alias) or alias.lower().startswith("v") and alias[1:].isdigit():
        raise InvalidRequestError(
            f"alias {alias!r} is not allowed; use letters, digits, '-' or '_', starting with a "
            "letter, and not v<number> (MLflow reserves it)",
            details={"alias": alias},
        )
    registry.set_alias(user.username, name, alias, version)
    return registry.get_classifier(user.username, name)
