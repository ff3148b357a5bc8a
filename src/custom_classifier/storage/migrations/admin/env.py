"""Alembic environment of the admin database; run by `storage.migrate.upgrade`."""

from custom_classifier.storage.migrations.environment import run_migrations
from custom_classifier.storage.tables import AdminBase

run_migrations(AdminBase.metadata, version_table="alembic_version_admin")
