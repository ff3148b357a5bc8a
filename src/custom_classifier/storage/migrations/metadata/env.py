"""Alembic environment of the metadata database; run by `storage.migrate.upgrade`."""

from custom_classifier.storage.migrations.environment import run_migrations
from custom_classifier.storage.tables import MetadataBase

run_migrations(MetadataBase.metadata, version_table="alembic_version_metadata")
