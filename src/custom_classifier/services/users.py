"""Users, roles and API keys: create, authenticate, disable, revoke.

A key reads `cc_<prefix>_<secret>`. Only its sha256 is stored; the prefix finds the row without
scanning, and is what users and admins see to tell keys apart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from custom_classifier.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    UserNotFoundError,
)
from custom_classifier.storage import user_repository as users
from custom_classifier.storage.clock import as_utc, utcnow
from custom_classifier.storage.tables import ApiKeyRecord, UserRecord

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
INITIAL_ADMIN = "admin"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Identity:
    """Who is calling: what every other service needs to know about the user."""

    username: str
    is_admin: bool = False


@dataclass(frozen=True)
class NewApiKey:
    """A key just created; `key` is shown once and never stored."""

    record: ApiKeyRecord
    key: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _parse_key(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "cc" or not parts[1] or not parts[2]:
        return None
    return parts[1]


def validate_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidRequestError(
            f"username {username!r} is not allowed; use 1-63 lowercase letters, digits, "
            "'-' or '_', starting with a letter or digit",
            details={"username": username},
        )
    return username


def create_user(session: Session, username: str, *, is_admin: bool = False) -> UserRecord:
    """A new active user; raises `ConflictError` when the name is taken."""
    validate_username(username)
    if users.find_user(session, username) is not None:
        raise ConflictError(f"user {username!r} already exists", details={"username": username})
    user = UserRecord(username=username, is_admin=is_admin, is_active=True)
    users.add(session, user)
    return user


def create_api_key(session: Session, username: str, *, name: str = "default") -> NewApiKey:
    """A new key for an existing user; the plain key is returned once."""
    user = users.get_user(session, username)
    prefix = secrets.token_hex(6)
    key = f"cc_{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(user_id=user.id, name=name, prefix=prefix, key_hash=hash_key(key))
    users.add(session, record)
    return NewApiKey(record=record, key=key)


def authenticate(session: Session, key: str) -> Identity:
    """The identity behind an API key; `AuthenticationError` for unknown, revoked or disabled."""
    prefix = _parse_key(key)
    record = users.find_key_by_prefix(session, prefix) if prefix else None
    if record is None or not hmac.compare_digest(record.key_hash, hash_key(key)):
        raise AuthenticationError("the API key is not valid; send `Authorization: Bearer <key>`")
    if record.revoked_at is not None:
        raise AuthenticationError("the API key was revoked; ask an admin for a new one")
    if not record.user.is_active:
        raise AuthenticationError(f"user {record.user.username!r} is disabled")
    _touch(record)
    return Identity(username=record.user.username, is_admin=record.user.is_admin)


def _touch(record: ApiKeyRecord) -> None:
    """Record use at most once a minute, so busy clients do not write on every request."""
    now = utcnow()
    last = as_utc(record.last_used_at)
    if last is None or now - last > LAST_USED_RESOLUTION:
        record.last_used_at = now


def require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise PermissionDeniedError("this action needs the admin role")


def set_user_active(session: Session, username: str, *, active: bool) -> UserRecord:
    user = users.get_user(session, username)
    user.is_active = active
    return user


def revoke_api_key(session: Session, username: str, key_id: int) -> ApiKeyRecord:
    """Revoke one of the user's keys; `NotFoundError` when it is not theirs."""
    key = users.get_key(session, key_id)
    if key.user.username != username:
        raise NotFoundError(
            f"user {username!r} has no API key {key_id}", details={"key_id": key_id}
        )
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def get_user(session: Session, username: str) -> UserRecord:
    return users.get_user(session, username)


def list_users(session: Session) -> list[UserRecord]:
    return users.list_users(session)


def list_api_keys(session: Session, username: str) -> list[ApiKeyRecord]:
    return users.list_keys(session, users.get_user(session, username))


def ensure_initial_admin(session: Session) -> NewApiKey | None:
    """On an empty admin database, create `admin` and return its key; otherwise None."""
    if users.count_users(session) > 0:
        return None
    create_user(session, INITIAL_ADMIN, is_admin=True)
    return create_api_key(session, INITIAL_ADMIN, name="initial")


def command_line_user(session: Session, username: str | None) -> tuple[Identity, NewApiKey | None]:
    """Who the command line acts as: `username`, or else the first admin.

    Its classifiers are that user's, as in the web UI and the API. On an empty install the
    initial admin is created, as the first `serve` would; its key comes back to be shown once.
    """
    created = ensure_initial_admin(session)
    if username is None:
        admin = users.first_admin(session)
        if admin is None:
            raise UserNotFoundError(
                "no active admin user to act as; name one with --user NAME "
                "(create it with `custom-classifier users create NAME --admin`)"
            )
        return Identity(username=admin.username, is_admin=True), created
    user = users.find_user(session, username)
    if user is None:
        known = ", ".join(u.username for u in users.list_users(session))
        raise UserNotFoundError(
            f"no user named {username!r}; users: {known}. Create it with "
            f"`custom-classifier users create {username}`",
            details={"username": username},
        )
    if not user.is_active:
        raise AuthenticationError(f"user {username!r} is disabled; an admin can enable it again")
    return Identity(username=user.username, is_admin=user.is_admin), created
