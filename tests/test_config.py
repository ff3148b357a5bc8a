"""Settings refuse to start in production with a default secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from custom_classifier.config import Settings

SAFE = {"environment": "production", "secret_key": "s" * 48}


def test_production_refuses_the_default_mlflow_service_password() -> None:
    with pytest.raises(ValidationError, match="CC_MLFLOW_PASSWORD"):
        Settings(**SAFE, mlflow_username="cc-service", mlflow_password="change-me")


def test_production_refuses_a_default_database_password() -> None:
    with pytest.raises(ValidationError, match="CC_ADMIN_DATABASE_URL"):
        Settings(**SAFE, admin_database_url="postgresql://cc:change-me@admin-db:5432/cc_admin")


def test_production_accepts_real_secrets() -> None:
    settings = Settings(
        **SAFE,
        mlflow_username="cc-service",
        mlflow_password="a-long-random-password",
        database_url="postgresql://cc:Xk2-long-random@db:5432/cc_metadata",
    )
    assert settings.environment == "production"


def test_embedded_mode_keeps_its_defaults() -> None:
    assert Settings(mlflow_username="cc-service", mlflow_password="change-me").mlflow_username


def test_empty_variables_keep_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # docker compose passes `CC_BASE_MODEL: ${CC_BASE_MODEL:-}` as an empty string when unset.
    monkeypatch.setenv("CC_BASE_MODEL", "")
    monkeypatch.setenv("CC_TRAINING_GPUS", "")

    settings = Settings()

    assert settings.base_model.endswith("model")
    assert settings.training_gpus is None
