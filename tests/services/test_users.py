from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from custom_classifier.errors import AuthenticationError, ConflictError, InvalidRequestError
from custom_classifier.services import users
from custom_classifier.storage.engine import Database
from custom_classifier.storage.migrate import upgrade
from custom_classifier.storage.tables import ApiKeyRecord


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database.connect(f"sqlite:///{tmp_path / 'admin.db'}")
    upgrade(database.engine, "admin")
    return database


def test_keys_are_stored_only_as_hashes(database: Database) -> None:
    with database.session() as session:
        users.create_user(session, "alice")
        key = users.create_api_key(session, "alice").key
    with database.session() as session:
        stored = session.scalars(select(ApiKeyRecord)).one()
        assert key not in {stored.key_hash, stored.prefix}
        assert stored.key_hash == users.hash_key(key)
        assert users.authenticate(session, key) == users.Identity("alice", is_admin=False)


def test_revoked_key_and_disabled_user_do_not_authenticate(database: Database) -> None:
    with database.session() as session:
        users.create_user(session, "alice")
        first = users.create_api_key(session, "alice")
        second = users.create_api_key(session, "alice")
        users.revoke_api_key(session, "alice", first.record.id)
    with database.session() as session, pytest.raises(AuthenticationError, match="revoked"):
        users.authenticate(session, first.key)
    with database.session() as session:
        users.set_user_active(session, "alice", active=False)
    with database.session() as session, pytest.raises(AuthenticationError, match="disabled"):
        users.authenticate(session, second.key)


def test_initial_admin_is_created_once(database: Database) -> None:
    with database.session() as session:
        created = users.ensure_initial_admin(session)
    with database.session() as session:
        assert users.ensure_initial_admin(session) is None
        assert created is not None
        assert users.authenticate(session, created.key).is_admin


def test_usernames_are_checked_and_unique(database: Database) -> None:
    with database.session() as session:
        users.create_user(session, "alice")
        with pytest.raises(ConflictError):
            users.create_user(session, "alice")
        with pytest.raises(InvalidRequestError, match="lowercase"):
            users.create_user(session, "../Alice")
