"""`custom-classifier mlflow-ui`: the MLflow UI on the embedded store, stopped whole.

`mlflow ui` starts a server process and a job runner beside itself (and a worker pool with
`--workers` > 1); a SIGTERM to it, or even a SIGINT to its group while it starts, leaves some of
them running (measured with MLflow 3.17). So it runs here in a process group of its own, and
whatever ends this command stops that group: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import signal
import subprocess
from types import FrameType
from typing import Annotated

import typer

from custom_classifier.config import get_settings
from custom_classifier.processes import stop_process
from custom_classifier.services.mlflow_ui import mlflow_ui_command

STOP_GRACE_SECONDS = 10.0


def mlflow_ui(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
) -> None:
    """Serve the MLflow UI on the embedded store (runs, metrics, models) until Ctrl-C."""
    settings = get_settings()
    tracking = settings.resolved_tracking_uri
    if tracking.startswith(("http://", "https://")):
        typer.echo(
            f"MLflow runs as a server here ({tracking}); open its UI there "
            "(CC_MLFLOW_PUBLIC_URL is where the reports link to).",
            err=True,
        )
        raise typer.Exit(2)
    process = subprocess.Popen(mlflow_ui_command(settings, host, port), start_new_session=True)
    typer.echo(f"MLflow UI on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        stop_process(process, grace=STOP_GRACE_SECONDS, group=True)
        signal.signal(signal.SIGTERM, previous)
    raise typer.Exit(code)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.command("mlflow-ui")(mlflow_ui)
