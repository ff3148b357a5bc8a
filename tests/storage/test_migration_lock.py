"""API replicas that start at once on an empty PostgreSQL database all come up."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy import inspect

from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade

REPLICAS = 4


def start_replica(url: str) -> set[str]:
    database = Database.connect(url)
    try:
        upgrade(database.engine, "metadata")
        upgrade(database.engine, "admin")
        return set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_concurrent_migrations_on_postgresql_all_succeed(postgres_url: str) -> None:
    # Processes, like real replicas: Alembic keeps its migration context in module globals.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(REPLICAS, mp_context=context) as pool:
        results = list(pool.map(start_replica, [postgres_url] * REPLICAS))
    assert all({"jobs", "users", "api_keys"} <= tables for tables in results)
