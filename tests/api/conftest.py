"""A started app on a fresh CC_HOME per test, and users to call it with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from factories import api_headers


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", min_docs_per_label=5)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The app with its job runner; unexpected errors answer 500 instead of raising."""
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture
def alice(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "alice")


@pytest.fixture
def bob(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "bob")


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return api_headers(client.app, "root", is_admin=True)
