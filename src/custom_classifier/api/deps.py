"""Dependencies of the routes, as `Annotated` aliases: `RuntimeDep`, `SessionDep`, `CurrentUser`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from custom_classifier.api.documented import operations, query_names
from custom_classifier.config import Settings
from custom_classifier.errors import AuthenticationError, InvalidRequestError
from custom_classifier.services import users
from custom_classifier.services.runtime import Runtime
from custom_classifier.services.users import Identity

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cc_...`")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A metadata-database session; services commit what they write."""
    with runtime.databases.metadata.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_admin_session(runtime: RuntimeDep) -> Iterator[Session]:
    """An admin-database session; services commit what they write."""
    with runtime.databases.admin.sessions() as session:
        yield session


AdminSessionDep = Annotated[Session, Depends(get_admin_session)]


def get_current_user(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("an API key is required; send `Authorization: Bearer <key>`")
    with runtime.databases.admin.session() as session:
        return users.authenticate(session, credentials.credentials)


CurrentUser = Annotated[Identity, Depends(get_current_user)]


def get_admin_user(user: CurrentUser) -> Identity:
    users.require_admin(user)
    return user


AdminUser = Annotated[Identity, Depends(get_admin_user)]


def refuse_unknown_query(request: Request) -> None:
    """422 for a query parameter the operation does not take: `?verison=2` must not predict
    with `champion` as if nothing had been asked."""
    if not request.query_params:
        return
    operation = operations(request).get(request.method)
    if operation is None:
        return
    known = query_names(operation)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidRequestError(
            f"unknown query parameter(s) {unknown[:20]}; this operation takes "
            f"{sorted(known) or 'none'}",
            details={"unknown": unknown[:20], "known": sorted(known)},
        )
