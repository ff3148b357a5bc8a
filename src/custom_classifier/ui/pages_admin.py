"""Admin: users (create, disable) and their API keys (create, revoke)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from custom_classifier.api.deps import AdminSessionDep, RuntimeDep
from custom_classifier.errors import InvalidRequestError
from custom_classifier.services import users, web_sessions
from custom_classifier.services.users import Identity
from custom_classifier.ui.rendering import UiRoute, render
from custom_classifier.ui.session import CsrfChecked, UiAdmin

router = APIRouter(prefix="/admin", route_class=UiRoute)


@router.get("")
def admin_page(request: Request, admin: UiAdmin, session: AdminSessionDep) -> Response:
    return _page(request, session)


def _page(request: Request, session: Session, *, created: dict[str, Any] | None = None) -> Response:
    rows = [
        {"user": record, "keys": users.list_api_keys(session, record.username)}
        for record in users.list_users(session)
    ]
    return render(request, "admin.html", {"rows": rows, "created": created, "nav": "admin"})


@router.post("/users", dependencies=[CsrfChecked])
def create_user(
    request: Request,
    admin: UiAdmin,
    session: AdminSessionDep,
    runtime: RuntimeDep,
    username: Annotated[str, Form()] = "",
    is_admin: Annotated[bool, Form()] = False,
) -> Response:
    """A user and their first API key, shown once on the page that answers."""
    key = web_sessions.enroll_user(session, runtime.settings, username.strip(), is_admin=is_admin)
    created = {"username": username.strip(), "key": key.key}
    return _page(request, session, created=created)


@router.post("/users/{username}/active", dependencies=[CsrfChecked])
def set_active(
    username: str, admin: UiAdmin, session: AdminSessionDep, active: Annotated[bool, Form()]
) -> Response:
    """Disable (or enable) a user; their keys and browser sessions stop working at once."""
    _refuse_self(admin, username, active)
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
    request: Request,
    username: str,
    admin: UiAdmin,
    session: AdminSessionDep,
    name: Annotated[str, Form()] = "default",
) -> Response:
    key = users.create_api_key(session, username, name=name.strip() or "default")
    session.commit()
    created = {"username": username, "key": key.key}
    return _page(request, session, created=created)


@router.post("/users/{username}/keys/{key_id}/revoke", dependencies=[CsrfChecked])
def revoke_key(username: str, key_id: int, admin: UiAdmin, session: AdminSessionDep) -> Response:
    users.revoke_api_key(session, username, key_id)
    session.commit()
    return RedirectResponse("/ui/admin", status_code=303)
