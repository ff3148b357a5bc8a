from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from custom_classifier.api import app as app_module
from custom_classifier.app import create_app
from custom_classifier.config import Settings
from custom_classifier.storage import user_repository


def test_a_replica_starting_beside_another_does_not_create_a_second_admin(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(api_settings, run_jobs=False)):
        pass  # the first replica creates `admin`
    # The second replica counted no users before the first one committed its admin.
    monkeypatch.setattr(user_repository, "count_users", lambda session: 0)
    announced: list[object] = []
    monkeypatch.setattr(app_module, "announce_initial_admin", announced.append)

    with TestClient(create_app(api_settings, run_jobs=False)) as client:
        assert client.get("/healthz").status_code == 200

    assert announced == []
