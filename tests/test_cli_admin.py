"""`custom-classifier users create` and `keys create` print keys that authenticate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custom_classifier.cli import app
from custom_classifier.config import Settings, get_settings
from custom_classifier.services import users
from custom_classifier.storage.engine import Database


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CC_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _identity(key: str) -> users.Identity:
    database = Database.connect(Settings().resolved_admin_database_url)
    try:
        with database.session() as session:
            return users.authenticate(session, key)
    finally:
        database.dispose()


def test_users_create_and_keys_create_print_working_keys(home: Path) -> None:
    runner = CliRunner()

    created = runner.invoke(app, ["users", "create", "alice", "--admin"])
    another = runner.invoke(app, ["keys", "create", "alice"])
    unknown = runner.invoke(app, ["keys", "create", "nobody"])

    assert created.exit_code == 0 and another.exit_code == 0
    first, second = created.stdout.strip(), another.stdout.strip()
    assert first != second
    assert _identity(first) == _identity(second) == users.Identity("alice", is_admin=True)
    assert unknown.exit_code == 1


def test_users_create_refuses_a_taken_name(home: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["users", "create", "alice"])

    again = runner.invoke(app, ["users", "create", "alice"])

    assert again.exit_code == 1
    assert "already exists" in again.stderr
