"""Both migration environments apply on SQLite and on PostgreSQL (throwaway database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from custom_classifier.storage.engine import Database, normalize_url
from custom_classifier.storage.migrate import upgrade

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skipped when no server answers."""
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        server.dispose()
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {error}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def _tables(url: str) -> set[str]:
    database = Database.connect(url)
    try:
        upgrade(database.engine, "metadata")
        upgrade(database.engine, "admin")
        upgrade(database.engine, "metadata")  # a second start changes nothing
        return set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


EXPECTED = {
    "jobs",
    "classifiers",
    "users",
    "api_keys",
    "alembic_version_metadata",
    "alembic_version_admin",
}


def test_migrations_apply_on_sqlite(tmp_path: Path) -> None:
    assert _tables(f"sqlite:///{tmp_path / 'both.db'}") == EXPECTED


def test_migrations_apply_on_postgresql(postgres_url: str) -> None:
    assert _tables(postgres_url) == EXPECTED


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
