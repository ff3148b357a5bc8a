"""Admin: users (create, disable) and their API keys (create, revoke)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from custom_classifier.errors import InvalidRequestError
from custom_classifier.services import users, web_sessions
from custom_classifier.services.users import Identity
from custom_classifier.ui.rendering import UiRoute, render
from custom_classifier.ui.session import CsrfChecked, UiAdmin, runtime_of

router = APIRouter(prefix="/admin", route_class=UiRoute)


@router.get("")
def admin_page(request: Request, admin: UiAdmin) -> Response:
    return _page(request)


def _page(request: Request, *, created: dict[str, Any] | None = None) -> Response:
    with runtime_of(request).databases.admin.sessions() as session:
        rows = [
            {"user": record, "keys": users.list_api_keys(session, record.username)}
            for record in users.list_users(session)
        ]
        return render(request, "admin.html", {"rows": rows, "created": created, "nav": "admin"})


@router.post("/users", dependencies=[CsrfChecked])
def create_user(
    request: Request,
    admin: UiAdmin,
    username: Annotated[str, Form()] = "",
    is_admin: Annotated[bool, Form()] = False,
) -> Response:
    """A user and their first API key, shown once on the page that answers."""
    runtime = runtime_of(request)
    with runtime.databases.admin.sessions() as session:
        key = web_sessions.enroll_user(
            session, runtime.settings, username.strip(), is_admin=is_admin
        )
        created = {"username": username.strip(), "key": key.key}
    return _page(request, created=created)


@router.post("/users/{username}/active", dependencies=[CsrfChecked])
def set_active(
    request: Request, username: str, admin: UiAdmin, active: Annotated[bool, Form()]
) -> Response:
    """Disable (or enable) a user; their keys and browser sessions stop working at once."""
    _refuse_self(admin, username, active)
    with runtime_of(request).databases.admin.sessions() as session:
        users.set_user_active(session, username, active=active)
        session.commit()
    return RedirectResponse("/ui/admin", status_code=303)


def _refuse_self(admin: Identity, username: str, active: bool) -> None:
    if username == admin.username and not active:
        raise InvalidRequestError(
            "you cannot disable yourself; ask another admin, or create one first"
        )


@router.post("/users/{username}/keys", dependencies=[CsrfChecked])
def create_key(
    request: Request, username: str, admin: UiAdmin, name: Annotated[str, Form()] = "default"
) -> Response:
    with runtime_of(request).databases.admin.sessions() as session:
        key = users.create_api_key(session, username, name=name.strip() or "default")
        session.commit()
        created = {"username": username, "key": key.key}
    return _page(request, created=created)


@router.post("/users/{username}/keys/{key_id}/revoke", dependencies=[CsrfChecked])
def revoke_key(request: Request, username: str, key_id: int, admin: UiAdmin) -> Response:
    with runtime_of(request).databases.admin.sessions() as session:
        users.revoke_api_key(session, username, key_id)
        session.commit()
    return RedirectResponse("/ui/admin", status_code=303)
