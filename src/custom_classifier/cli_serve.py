"""`custom-classifier serve`: the REST API and the embedded job runner in one command."""

from __future__ import annotations

from typing import Annotated

import typer

from custom_classifier.config import get_settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Start the API on the embedded defaults (databases and MLflow under CC_HOME).

    The first start on an empty CC_HOME creates the user `admin` and prints its API key once.
    """
    import uvicorn

    from custom_classifier.app import create_app

    settings = get_settings()
    typer.echo(f"CC_HOME: {settings.resolved_home}", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
