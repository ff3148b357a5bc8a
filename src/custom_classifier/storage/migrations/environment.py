"""What the two Alembic environments share: run the migrations of one database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, MetaData

from custom_classifier.storage.engine import create_db_engine


def run_migrations(target_metadata: MetaData, version_table: str) -> None:
    """On the connection `storage.migrate.upgrade` passes, else on the configured URL.

    `version_table` is distinct per database, so both may share one PostgreSQL database.
    """
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, target_metadata, version_table)
        return
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own_connection:
        _run(own_connection, target_metadata, version_table)


def _run(connection: Connection, target_metadata: MetaData, version_table: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
