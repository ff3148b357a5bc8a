"""The app on PostgreSQL: both databases in one throwaway PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, make_topic_folder


def test_users_and_jobs_on_postgresql(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    settings = Settings(
        home=tmp_path,
        min_docs_per_label=5,
        database_url=postgres_url,
        admin_database_url=postgres_url,
    )
    make_topic_folder(settings.resolved_data_roots[0], {"sport": 5, "finance": 5})
    with TestClient(create_app(settings, run_jobs=False)) as client:
        alice = api_headers(client.app, "alice")
        body = {"name": "news", "location": "topics", "labels": ["sport", "finance"]}

        created = client.post("/api/v1/classifiers", headers=alice, json=body)
        listed = client.get("/api/v1/jobs", headers=alice).json()
        checks = client.get("/readyz").json()["error"]["details"]["checks"]

    assert created.status_code == 202
    assert [job["id"] for job in listed["data"]] == [created.json()["id"]]
    assert checks["metadata_database"] == checks["admin_database"] == "ok"
    assert checks["job_queue"].startswith("error")  # run_jobs=False: this process runs none
