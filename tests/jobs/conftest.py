from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custom_classifier.config import Settings
from custom_classifier.jobs.status import JobStatus
from custom_classifier.storage import job_repository
from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade
from custom_classifier.storage.tables import JobRecord


@pytest.fixture
def job_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", min_docs_per_label=5)


@pytest.fixture
def database(job_settings: Settings) -> Iterator[Database]:
    job_settings.resolved_home.mkdir(parents=True)
    database = Database.connect(job_settings.resolved_database_url)
    upgrade(database.engine, "metadata")
    yield database
    database.dispose()


def add_job(database: Database, location: Path, **values: Any) -> str:
    """A queued job (or in the state `values` says) for alice, asking for sport and finance."""
    job_id = uuid.uuid4().hex
    request = {
        "name": "news",
        "owner": "alice",
        "location": str(location),
        "labels": ["sport", "finance"],
        "base_model": None,
        "training": {"epochs": 1},
        "acceptance": {},
    }
    record = JobRecord(
        id=job_id,
        owner="alice",
        name="news",
        location=str(location),
        labels=["sport", "finance"],
        request=request,
        status=JobStatus.QUEUED,
    )
    with database.session() as session:
        job_repository.add_job(session, record)
        for key, value in values.items():
            setattr(record, key, value)
    return job_id
