"""Readiness: each dependency answers `ok` or a short error."""

from __future__ import annotations

from pathlib import Path

from custom_classifier.config import Settings
from custom_classifier.registry import Registry
from custom_classifier.services.health import readiness
from custom_classifier.services.runtime import Runtime


def test_the_registry_pings_a_reachable_store(registry: Registry) -> None:
    registry.ping()


def test_readiness_names_an_unreachable_mlflow_store(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-database"
    broken.write_text("not sqlite")
    runtime = Runtime.open(Settings(home=tmp_path, mlflow_tracking_uri=f"sqlite:///{broken}"))
    try:
        checks = readiness(runtime)
    finally:
        runtime.close()

    assert checks["metadata_database"] == checks["admin_database"] == "ok"
    assert checks["mlflow"].startswith("error: ")
