"""Everything a request needs besides its own input: settings, databases, queue, registry, models.

Built once per process by the API (or the CLI) and handed to services; the registry (mlflow) and
the predictor are created on first use, so a process that only reads job status never loads them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from custom_classifier.config import Settings
from custom_classifier.jobs.queue import JobQueue
from custom_classifier.storage.engine import Database, Databases
from custom_classifier.storage.migrate import upgrade_all

if TYPE_CHECKING:
    from custom_classifier.inference.predictor import Predictor
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.services.predictions import RunOwners


class Runtime:
    def __init__(self, settings: Settings, databases: Databases, queue: JobQueue) -> None:
        self.settings = settings
        self.databases = databases
        self.queue = queue

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Connect both databases (bringing their schemas up to date) and build the queue."""
        settings.resolved_home.mkdir(parents=True, exist_ok=True)
        if not settings.data_roots:
            settings.resolved_data_roots[0].mkdir(parents=True, exist_ok=True)
        databases = Databases.from_settings(settings)
        if migrate:
            upgrade_all(databases)
        return cls(settings, databases, make_job_queue(settings, databases.metadata))

    @cached_property
    def registry(self) -> Registry:
        from custom_classifier.registry.connect import open_registry

        return open_registry(self.settings)

    @cached_property
    def predictor(self) -> Predictor:
        from custom_classifier.inference.predictor import Predictor

        return Predictor(self.registry, self.settings.model_cache_size)

    @cached_property
    def run_owners(self) -> RunOwners:
        """Who owns each run, remembered for the life of the process."""
        from custom_classifier.services.predictions import RunOwners

        return RunOwners(self.registry)

    def close(self) -> None:
        self.queue.stop()
        self.databases.dispose()


def make_job_queue(settings: Settings, database: Database) -> JobQueue:
    """The queue `CC_JOB_BACKEND` names (`Settings` accepts no other value)."""
    if settings.job_backend == "celery":
        from custom_classifier.jobs.celery_queue import CeleryJobQueue

        return CeleryJobQueue(settings, database)
    from custom_classifier.jobs.embedded import EmbeddedJobQueue

    return EmbeddedJobQueue(settings, database)
