"""The report page of a job that never produced a model answers 404, not a 500 (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers, make_topic_folder


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", min_docs_per_label=5)
    make_topic_folder(settings.resolved_data_roots[0], {"sport": 5, "finance": 5})
    with TestClient(create_app(settings)) as started:
        yield started


def _sign_in(client: TestClient, headers: dict[str, str]) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    key = headers["Authorization"].removeprefix("Bearer ")
    form = {"api_key": key, "csrf_token": token.group(1), "next": "/ui/"}
    signed_in = client.post("/ui/login", data=form, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text


def test_the_report_of_a_job_cancelled_before_it_started_is_not_found(
    client: TestClient,
) -> None:
    alice = api_headers(client.app, "alice")
    client.app.state.runtime.queue.stop()  # type: ignore[attr-defined]  # keep it queued
    body = {"name": "news", "location": "topics", "labels": ["sport", "finance"]}
    job = client.post("/api/v1/classifiers", headers=alice, json=body).json()
    cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice).json()
    _sign_in(client, alice)

    report = client.get(f"/ui/jobs/{job['id']}/report")
    next_request = client.get(f"/ui/jobs/{job['id']}")

    assert cancelled["status"] == "cancelled"
    assert report.status_code == 404, report.text[:300]
    assert "before its model was evaluated" in report.text
    assert f"/ui/jobs/{job['id']}" in report.text  # where to look instead
    assert next_request.status_code == 200
