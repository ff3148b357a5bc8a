"""Queries on the users and api_keys tables of the admin database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custom_classifier.errors import NotFoundError, UserNotFoundError
from custom_classifier.storage.tables import ApiKeyRecord, UserRecord


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(UserRecord)) or 0)


def find_user(session: Session, username: str) -> UserRecord | None:
    return session.scalar(select(UserRecord).where(UserRecord.username == username))


def get_user(session: Session, username: str) -> UserRecord:
    user = find_user(session, username)
    if user is None:
        raise UserNotFoundError(f"no user {username!r}", details={"username": username})
    return user


def first_admin(session: Session) -> UserRecord | None:
    """The oldest active admin, or None."""
    query = select(UserRecord).where(UserRecord.is_admin.is_(True), UserRecord.is_active.is_(True))
    return session.scalar(query.order_by(UserRecord.id).limit(1))


def list_users(session: Session) -> list[UserRecord]:
    return list(session.scalars(select(UserRecord).order_by(UserRecord.username)))


def add(session: Session, record: UserRecord | ApiKeyRecord) -> None:
    session.add(record)
    session.flush()


def find_key_by_prefix(session: Session, prefix: str) -> ApiKeyRecord | None:
    return session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix))


def list_keys(session: Session, user: UserRecord) -> list[ApiKeyRecord]:
    query = select(ApiKeyRecord).where(ApiKeyRecord.user_id == user.id)
    return list(session.scalars(query.order_by(ApiKeyRecord.created_at)))


def get_key(session: Session, key_id: int) -> ApiKeyRecord:
    key = session.get(ApiKeyRecord, key_id)
    if key is None:
        raise NotFoundError(f"no API key with id {key_id}", details={"key_id": key_id})
    return key
