"""Browser sessions: sign in with an API key, check the session on each request, enrol users.

A session remembers the key's public prefix, never the key: each request looks the key up again,
so revoking it or disabling the user ends their browser sessions at once.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy.orm import Session

from custom_classifier.config import Settings
from custom_classifier.errors import AuthenticationError
from custom_classifier.services import mlflow_access, users
from custom_classifier.services.users import Identity, NewApiKey
from custom_classifier.storage import user_repository

CHECK_CHARS = 32
SIGNED_OUT = "you were signed out (the key was revoked or the user disabled); sign in again"


@dataclass(frozen=True)
class WebSignIn:
    identity: Identity
    key_prefix: str
    key_check: str
    """A part of the key's stored hash: a session naming only a (public) prefix is not enough."""


def sign_in(session: Session, api_key: str) -> WebSignIn:
    """Check the key as the API does; `AuthenticationError` when it is not valid."""
    key = api_key.strip()
    identity = users.authenticate(session, key)
    check = users.hash_key(key)[:CHECK_CHARS]
    return WebSignIn(identity=identity, key_prefix=key.split("_", 2)[1], key_check=check)


def resume(session: Session, username: str, key_prefix: str, key_check: str) -> Identity:
    """The identity of a signed-in browser, if its key and user are still valid."""
    key = user_repository.find_key_by_prefix(session, key_prefix)
    if (
        key is None
        or not hmac.compare_digest(key.key_hash[:CHECK_CHARS], key_check)
        or key.revoked_at is not None
        or key.user.username != username
        or not key.user.is_active
    ):
        raise AuthenticationError(SIGNED_OUT)
    return Identity(username=key.user.username, is_admin=key.user.is_admin)


def enroll_user(
    session: Session, settings: Settings, username: str, *, is_admin: bool = False
) -> NewApiKey:
    """A new user with a first API key and (when MLflow has accounts) their MLflow login."""
    users.create_user(session, username, is_admin=is_admin)
    key = users.create_api_key(session, username)
    mlflow_access.provision_user(settings, username)  # before commit: both or neither
    session.commit()
    return key
