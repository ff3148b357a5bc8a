"""Readiness: can this process reach what it needs to answer requests and run jobs?"""

from __future__ import annotations

import logging
from collections.abc import Callable

from custom_classifier.services.runtime import Runtime

logger = logging.getLogger(__name__)


def readiness(runtime: Runtime) -> dict[str, str]:
    """`ok` or a short error for each dependency: databases, MLflow, job queue."""
    checks: dict[str, Callable[[], object]] = {
        "metadata_database": runtime.databases.metadata.ping,
        "admin_database": runtime.databases.admin.ping,
        "mlflow": lambda: runtime.registry.ping(),
        "job_queue": runtime.queue.ping,
    }
    return {name: _check(name, probe) for name, probe in checks.items()}


def _check(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        logger.warning("readiness check %s failed: %s", name, error)
        return f"error: {type(error).__name__}"
    return "ok"
