"""Each product user's MLflow account: created with the user, granted their own resources only.

The registry package imports mlflow, so it is imported when first needed. No-ops when MLflow is a local store or no service account is configured (embedded mode).
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_classifier.config import Settings
from custom_classifier.errors import NotFoundError


@dataclass(frozen=True)
class MlflowLogin:
    """What a user types into the MLflow UI's login prompt."""

    url: str | None
    username: str
    password: str


def provision_user(settings: Settings, username: str) -> None:
    """Create (or refresh) the user's MLflow account; raises when the server refuses."""
    from custom_classifier.registry.accounts import MlflowAccounts  # imports mlflow: lazily

    accounts = MlflowAccounts.from_settings(settings)
    if accounts is not None:
        accounts.ensure_user(username)


def login_for(settings: Settings, username: str) -> MlflowLogin:
    """The user's MLflow login; `NotFoundError` when MLflow runs without accounts."""
    from custom_classifier.registry.accounts import MlflowAccounts, mlflow_password_for

    if MlflowAccounts.from_settings(settings) is None:
        raise NotFoundError(
            "this deployment's MLflow has no per-user accounts (embedded mode); "
            "open the MLflow store under CC_HOME directly",
        )
    url = settings.mlflow_public_url
    return MlflowLogin(url=url, username=username, password=mlflow_password_for(settings, username))
