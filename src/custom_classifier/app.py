"""`create_app(settings)`: the service as one ASGI application, the REST API and the web UI.

What `custom-classifier serve` and uvicorn run (`custom_classifier.app:create_app`). The API
(`api`) and the UI (`ui`) are assembled here, so that neither imports the other's assembly:
the UI uses the API's plumbing (errors, dependencies), never the other way round.
"""

from __future__ import annotations

from fastapi import FastAPI

from custom_classifier.api.app import create_api
from custom_classifier.config import Settings
from custom_classifier.ui.routes import install_ui


def create_app(settings: Settings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """The application; `run_jobs=False` serves requests without starting the job runner."""
    app = create_api(settings, run_jobs=run_jobs)
    install_ui(app)
    return app
