"""The browser session (a signed, HttpOnly, SameSite cookie) and CSRF protection of every form.

The session names the API key the user signed in with (its public prefix and part of its stored
hash), never the key itself; each request checks the key again through the users service.
CSRF: a random token in its own SameSite=Strict cookie must come back in the form field
`csrf_token` or the `X-CSRF-Token` header (double submit), and a cross-site `Origin` is refused.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from custom_classifier.api.deps import get_runtime
from custom_classifier.config import DEFAULT_SECRET, Settings
from custom_classifier.errors import AuthenticationError, PermissionDeniedError
from custom_classifier.services import web_sessions
from custom_classifier.services.users import Identity
from custom_classifier.services.web_sessions import WebSignIn

SESSION_COOKIE = "cc_session"
CSRF_COOKIE = "cc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
UI_PATH = "/ui"
_SECRET_FILE = "ui-session-secret"


class SignInRequired(Exception):
    """Raised by `current_user`; the UI answers with a redirect to the sign-in page."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.message = message


class CsrfRejected(Exception):
    """A form came without the page's CSRF token (or from another site)."""


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_signing_secret(settings), salt="cc-ui-session")


def form_serializer(settings: Settings) -> URLSafeTimedSerializer:
    """Signs a refused form's values and problems, carried in the address it redirects to."""
    return URLSafeTimedSerializer(_signing_secret(settings), salt="cc-ui-form")


def _signing_secret(settings: Settings) -> str:
    """CC_SECRET_KEY; on the embedded default (`change-me`), a random secret kept in CC_HOME."""
    configured = settings.secret_key.get_secret_value()
    if configured and configured != DEFAULT_SECRET:
        return configured
    path = settings.resolved_home / _SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(f".{secrets.token_hex(4)}")
    scratch.touch(mode=0o600)
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)


def start_session(request: Request, response: Response, signed_in: WebSignIn) -> None:
    payload = {
        "u": signed_in.identity.username,
        "p": signed_in.key_prefix,
        "c": signed_in.key_check,
    }
    value = _serializer(get_runtime(request).settings).dumps(payload)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path=UI_PATH,
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )


def _is_https(request: Request) -> bool:
    # Behind the TLS proxy the app sees http; the proxy says what the browser used.
    return "https" in (request.url.scheme, request.headers.get("x-forwarded-proto"))


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=UI_PATH)


def current_user(request: Request) -> Identity:
    """The signed-in user; `SignInRequired` without a valid, live session."""
    cached = getattr(request.state, "ui_user", None)
    if isinstance(cached, Identity):
        return cached
    runtime = get_runtime(request)
    payload = _read_session(request, runtime.settings)
    if payload is None:
        raise SignInRequired()
    try:
        with runtime.databases.admin.session() as session:
            user = web_sessions.resume(session, payload["u"], payload["p"], payload["c"])
    except AuthenticationError as error:
        raise SignInRequired(error.message) from None
    request.state.ui_user = user
    return user


def _read_session(request: Request, settings: Settings) -> dict[str, Any] | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    try:
        payload = _serializer(settings).loads(value, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "upc"):
        return None
    return payload


def admin_user(user: Annotated[Identity, Depends(current_user)]) -> Identity:
    if not user.is_admin:
        raise PermissionDeniedError("this page is for admins; ask an admin to do this for you")
    return user


UiUser = Annotated[Identity, Depends(current_user)]
UiAdmin = Annotated[Identity, Depends(admin_user)]


# --- CSRF ------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The page's CSRF token: the cookie's, or a new one that `remember_csrf` will set."""
    token = getattr(request.state, "csrf_token", None)
    if isinstance(token, str):
        return token
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie on a page that handed out a new token."""
    token = getattr(request.state, "csrf_token", None)
    if isinstance(token, str) and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path=UI_PATH,
            httponly=True,
            samesite="strict",
            secure=_is_https(request),
        )


async def check_csrf(request: Request) -> None:
    """A dependency of every state-changing UI route."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).hostname != _own_host(request):
        raise CsrfRejected()
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        sent = str((await request.form()).get(CSRF_FIELD) or "")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRejected()


def _own_host(request: Request) -> str | None:
    """The host name the browser used (a proxy may drop the port from `Host`, so no port)."""
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(f"//{host}").hostname


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


CsrfChecked = Depends(check_csrf)
