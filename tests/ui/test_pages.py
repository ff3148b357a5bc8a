"""The UI's handlers on the API's dependencies (sessions, runtime), without a browser: the admin
pages write and read through one session per request, and the job page's event stream is the
API's helper."""

from __future__ import annotations

import json
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


def csrf(page_text: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert token is not None
    return token.group(1)


def sign_in(client: TestClient, headers: dict[str, str]) -> str:
    """Sign in with the key of `headers`; the CSRF token of the signed-in pages."""
    key = headers["Authorization"].removeprefix("Bearer ")
    form = {"api_key": key, "csrf_token": csrf(client.get("/ui/login").text), "next": "/ui/"}
    assert client.post("/ui/login", data=form, follow_redirects=False).status_code == 303
    return csrf(client.get("/ui/new").text)


def test_an_admin_creates_a_user_gives_a_key_revokes_it_and_disables_the_user(
    client: TestClient,
) -> None:
    token = sign_in(client, api_headers(client.app, "root", is_admin=True))

    created = client.post("/ui/admin/users", data={"username": "carol", "csrf_token": token})
    key = client.post(
        "/ui/admin/users/carol/keys", data={"name": "laptop", "csrf_token": token}
    ).text
    key_ids = re.findall(r"/ui/admin/users/carol/keys/(\d+)/revoke", key)
    revoked = client.post(
        f"/ui/admin/users/carol/keys/{key_ids[-1]}/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    disabled = client.post(
        "/ui/admin/users/carol/active",
        data={"active": "false", "csrf_token": token},
        follow_redirects=False,
    )
    page = client.get("/ui/admin").text
    dashboard = client.get("/ui/")

    assert created.status_code == 200 and "carol" in created.text and "cc_" in created.text
    assert "laptop" in key and len(key_ids) == 2
    assert revoked.status_code == 303 and disabled.status_code == 303
    assert len(re.findall(r"/ui/admin/users/carol/keys/\d+/revoke", page)) == 1
    assert dashboard.status_code == 200 and "first classifier" in dashboard.text


def event_lines(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[str]:
    with client.stream("GET", url, headers=headers) as events:
        return [line for line in events.iter_lines() if line.startswith(("event:", "data:"))]


def test_the_job_page_and_the_api_stream_a_job_that_ended_then_say_end(
    client: TestClient,
) -> None:
    alice = api_headers(client.app, "alice")
    client.app.state.runtime.queue.stop()  # type: ignore[attr-defined]  # keep it queued
    body = {"name": "news", "location": "topics", "labels": ["sport", "finance"]}
    job = client.post("/api/v1/classifiers", headers=alice, json=body).json()
    token = sign_in(client, alice)

    cancelled = client.post(
        f"/ui/jobs/{job['id']}/cancel", data={"csrf_token": token}, follow_redirects=False
    )
    lines = event_lines(client, f"/ui/jobs/{job['id']}/events")
    api_lines = event_lines(client, f"/api/v1/jobs/{job['id']}/events", alice)

    assert cancelled.status_code == 303
    assert [line for line in lines if line.startswith("event:")] == ["event: job", "event: end"]
    view = json.loads(lines[1].removeprefix("data: "))
    assert view["status"] == "cancelled" and view["terminal"]
    assert [line for line in api_lines if line.startswith("event:")] == ["event: job", "event: end"]
    assert json.loads(api_lines[1].removeprefix("data: "))["status"] == "cancelled"
    assert client.get("/ui/jobs/0123456789abcdef0123456789abcdef/events").status_code == 404
