"""How a person opens the MLflow UI on the embedded store (`custom-classifier mlflow-ui`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from custom_classifier.config import Settings


def mlflow_ui_command(settings: Settings, host: str, port: int) -> list[str]:
    """The `mlflow ui` of this environment on the settings' store, one server process."""
    command = [sys.executable, "-m", "mlflow", "ui"]
    command += ["--backend-store-uri", settings.resolved_tracking_uri]
    if settings.artifact_root.exists():
        command += ["--default-artifact-root", str(settings.artifact_root)]
    return command + ["--host", host, "--port", str(port), "--workers", "1"]


def open_run_command(settings: Settings) -> str:
    """What to type to look at a run in the MLflow UI, from any folder: this environment's
    `custom-classifier` with the settings that locate the store."""
    script = Path(sys.executable).parent / "custom-classifier"
    program = shlex.quote(str(script)) if script.is_file() else "custom-classifier"
    environment = f"CC_HOME={shlex.quote(str(settings.resolved_home))}"
    if settings.mlflow_tracking_uri:
        environment += f" CC_MLFLOW_TRACKING_URI={shlex.quote(settings.mlflow_tracking_uri)}"
    return f"{environment} {program} mlflow-ui"
