"""Both migration environments apply on SQLite and on PostgreSQL (throwaway database)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from custom_classifier.storage.engine import Database, normalize_url
from custom_classifier.storage.migrate import upgrade


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


def test_the_migrated_schema_has_every_column_of_the_tables(tmp_path: Path) -> None:
    from custom_classifier.storage.tables import AdminBase, MetadataBase

    database = Database.connect(f"sqlite:///{tmp_path / 'columns.db'}")
    try:
        upgrade(database.engine, "metadata")
        upgrade(database.engine, "admin")
        inspector = inspect(database.engine)
        for table in [*MetadataBase.metadata.sorted_tables, *AdminBase.metadata.sorted_tables]:
            migrated = {column["name"] for column in inspector.get_columns(table.name)}
            assert migrated == set(table.columns.keys()), table.name
    finally:
        database.dispose()
