"""API replicas that start at once on an empty PostgreSQL database all come up."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import create_engine, inspect, text

from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REPLICAS = 4


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    name = f"cc_test_lock_{uuid.uuid4().hex[:12]}"
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


def start_replica(url: str) -> set[str]:
    database = Database.connect(url)
    try:
        upgrade(database.engine, "metadata")
        upgrade(database.engine, "admin")
        return set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_concurrent_migrations_on_postgresql_all_succeed(empty_postgres_url: str) -> None:
    # Processes, like real replicas: Alembic keeps its migration context in module globals.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(REPLICAS, mp_context=context) as pool:
        results = list(pool.map(start_replica, [empty_postgres_url] * REPLICAS))
    assert all({"jobs", "users", "api_keys"} <= tables for tables in results)
