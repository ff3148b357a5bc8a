"""Apply the Alembic migrations shipped inside the package, one environment per database."""

from __future__ import annotations

import importlib.resources
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from custom_classifier.storage.engine import Databases

Environment = Literal["metadata", "admin"]
MIGRATION_LOCK_KEYS: dict[Environment, int] = {"metadata": 7_261_001, "admin": 7_261_002}
"""PostgreSQL advisory lock keys: API replicas starting at once migrate one after the other."""


def alembic_config(environment: Environment) -> Config:
    location = importlib.resources.files("custom_classifier.storage") / "migrations" / environment
    config = Config()
    config.set_main_option("script_location", str(location))
    return config


def upgrade(engine: Engine, environment: Environment) -> None:
    """Bring one database to the newest schema; a no-op when it is already there."""
    config = alembic_config(environment)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # released when the transaction ends
            key = MIGRATION_LOCK_KEYS[environment]
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def upgrade_all(databases: Databases) -> None:
    upgrade(databases.metadata.engine, "metadata")
    upgrade(databases.admin.engine, "admin")
