"""Users and API keys. Admins manage everyone; each user sees and manages their own keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from custom_classifier import limits
from custom_classifier.api import examples
from custom_classifier.api.deps import AdminSessionDep, AdminUser, CurrentUser, SettingsDep
from custom_classifier.api.responses import errors
from custom_classifier.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeysPublic,
    UserCreate,
    UserCreated,
    UserPublic,
    UsersPublic,
    UserUpdate,
)
from custom_classifier.errors import UserNotFoundError
from custom_classifier.services import mlflow_access, users
from custom_classifier.services.users import Identity, NewApiKey

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserPublic, summary="Who you are")
def me(user: CurrentUser, session: AdminSessionDep) -> UserPublic:
    """The user the API key belongs to."""
    return UserPublic.from_record(users.get_user(session, user.username))


@router.get(
    "/users", response_model=UsersPublic, summary="List users (admin)", responses=errors(403)
)
def list_users(_: AdminUser, session: AdminSessionDep) -> UsersPublic:
    """Every user, enabled or not. Admins only."""
    records = users.list_users(session)
    return UsersPublic(data=[UserPublic.from_record(u) for u in records], count=len(records))


@router.post(
    "/users",
    response_model=UserCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user (admin)",
    responses=errors(
        403,
        409,
        413,
        422,
        503,
        status_409="The user already exists.",
        own_examples={409: examples.USER_EXISTS},
    ),
)
def create_user(
    body: UserCreate, _: AdminUser, session: AdminSessionDep, settings: SettingsDep
) -> UserCreated:
    """Create a user, their first API key (shown only in this answer) and their MLflow
    account. Admins only."""
    record = users.create_user(session, body.username, is_admin=body.is_admin)
    key = users.create_api_key(session, body.username)
    mlflow_access.provision_user(settings, body.username)  # before commit: both or neither
    session.commit()
    public = UserPublic.from_record(record)
    return UserCreated(**public.model_dump(), api_key=_created(key))


@router.patch(
    "/users/{username}",
    response_model=UserPublic,
    summary="Disable a user (admin)",
    responses=errors(403, 404, 413, 422),
)
def update_user(
    username: str, body: UserUpdate, _: AdminUser, session: AdminSessionDep
) -> UserPublic:
    """Disable (or enable again) a user: their keys stop working at once. Admins only."""
    record = users.set_user_active(session, username, active=body.is_active)
    session.commit()
    return UserPublic.from_record(record)


@router.get(
    "/users/{username}/keys",
    response_model=ApiKeysPublic,
    summary="List API keys",
    responses=errors(404, 422),
)
def list_keys(username: str, user: CurrentUser, session: AdminSessionDep) -> ApiKeysPublic:
    """A user's API keys (never the keys themselves): yours, or anyone's if you are an admin."""
    _require_self_or_admin(user, username)
    keys = users.list_api_keys(session, username)
    return ApiKeysPublic(data=[ApiKeyPublic.from_record(k) for k in keys], count=len(keys))


@router.post(
    "/users/{username}/keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    responses=errors(404, 413, 422),
)
def create_key(
    username: str, body: ApiKeyCreate, user: CurrentUser, session: AdminSessionDep
) -> ApiKeyCreated:
    """A new API key (shown once) for yourself, or for anyone if you are an admin."""
    _require_self_or_admin(user, username)
    key = users.create_api_key(session, username, name=body.name)
    session.commit()
    return _created(key)


@router.delete(
    "/users/{username}/keys/{key_id}",
    response_model=ApiKeyPublic,
    summary="Revoke an API key",
    responses=errors(404, 422),
)
def revoke_key(
    username: str,
    key_id: Annotated[int, Path(ge=1, le=limits.MAX_ID)],
    user: CurrentUser,
    session: AdminSessionDep,
) -> ApiKeyPublic:
    """Revoke a key; requests with it answer 401 from now on."""
    _require_self_or_admin(user, username)
    key = users.revoke_api_key(session, username, key_id)
    session.commit()
    return ApiKeyPublic.from_record(key)


def _require_self_or_admin(user: Identity, username: str) -> None:
    if user.username != username and not user.is_admin:
        raise UserNotFoundError(f"no user {username!r}", details={"username": username})


def _created(key: NewApiKey) -> ApiKeyCreated:
    return ApiKeyCreated(**ApiKeyPublic.from_record(key.record).model_dump(), key=key.key)
