"""`open_registry(settings)`: the one way the product reaches MLflow (API, workers, CLI)."""

from __future__ import annotations

from custom_classifier.config import Settings
from custom_classifier.registry.accounts import MlflowAccounts, apply_service_credentials
from custom_classifier.registry.tracking import Registry


def open_registry(settings: Settings) -> Registry:
    """The registry on `CC_MLFLOW_TRACKING_URI`, as the service account, granting each owner
    their own experiment and models when MLflow runs with accounts."""
    apply_service_credentials(settings)
    return Registry(
        settings.resolved_tracking_uri,
        artifact_root=settings.artifact_root,
        access=MlflowAccounts.from_settings(settings),
    )
