"""`custom-classifier worker`: a training worker that takes jobs from the Celery broker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from custom_classifier.config import get_settings

if TYPE_CHECKING:
    from celery import Celery


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Trainings at once (each in its own process).")
    ] = 1,
    hostname: Annotated[
        str | None, typer.Option(help="Worker node name, e.g. gpu1@%h (default celery@%h).")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "info",
    ping: Annotated[
        bool, typer.Option("--ping", help="Exit 0 when a worker on this host answers, else 1.")
    ] = False,
) -> None:
    """Start a training worker: CC_BROKER_URL (Redis or RabbitMQ), CC_DATABASE_URL, MLflow."""
    from custom_classifier.jobs.celery_app import (
        make_celery_app,
        warm_up_each_process,
        worker_arguments,
    )
    from custom_classifier.jobs.warm_worker import wants_warm_up
    from custom_classifier.registry.accounts import apply_service_credentials
    from custom_classifier.training.process_environment import use_training_environment

    settings = get_settings()
    app = make_celery_app(settings)
    if ping:
        raise typer.Exit(0 if _answers(app, hostname) else 1)
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    apply_service_credentials(settings)
    use_training_environment()
    if wants_warm_up(settings):
        warm_up_each_process(app, settings)
    app.worker_main(worker_arguments(concurrency=concurrency, loglevel=loglevel, hostname=hostname))


def _answers(app: Celery, hostname: str | None) -> bool:
    import socket

    node = (hostname or "celery@%h").replace("%h", socket.gethostname())
    return bool(app.control.ping(destination=[node], timeout=5.0))


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
