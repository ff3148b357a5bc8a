"""Alembic environment of the metadata database; run by `storage.migrate.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from custom_classifier.storage.engine import create_db_engine
from custom_classifier.storage.tables import MetadataBase

VERSION_TABLE = "alembic_version_metadata"
"""Distinct per database, so both may share one PostgreSQL database."""


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=MetadataBase.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own_connection:
        _run(own_connection)


_run_online()
