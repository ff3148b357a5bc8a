"""Templates, the page helper, and the route class that turns every error into a plain page."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from custom_classifier.api.errors import new_error_id, status_for
from custom_classifier.errors import CustomClassifierError
from custom_classifier.ui import views
from custom_classifier.ui.session import CsrfRejected, SignInRequired, csrf_token, remember_csrf

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent


def _missing(value: Any) -> bool:
    """None, or a key the metrics lack (a job that failed while evaluating)."""
    return value is None or isinstance(value, Undefined)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["when"] = views.when
templates.env.filters["heat"] = views.heat
templates.env.filters["sentence"] = views.sentence
templates.env.filters["tojson_compact"] = lambda value: json.dumps(value, separators=(",", ":"))
templates.env.filters["score"] = lambda value: "–" if _missing(value) else f"{float(value):.3f}"
templates.env.filters["pct"] = lambda value: (
    "–" if _missing(value) else f"{100 * float(value):.1f} %"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HINTS = {
    "unauthenticated": "Sign in again with a valid API key.",
    "forbidden": "Ask an admin if you need this.",
    "not_found": "Check the link, or start again from the dashboard.",
    "classifier_not_found": "Open one of your classifiers from the dashboard.",
    "job_not_found": "Open one of your jobs from the dashboard.",
    "report_not_found": "Open the job's page to see how it ended, or train again.",
    "model_not_found": "Pick a version or alias listed on the classifier's page.",
    "service_unavailable": "A service the product needs is not reachable; try again in a "
    "minute, and tell your administrator if it persists.",
    "upload_too_large": "Send a smaller file, or ask your administrator to raise the limit.",
}
RELOAD = "Reload the page and send the form again."
REFILL = "Fill them in and try again."
RETRY = "Try again; if it keeps happening, tell your administrator."


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """A page (or fragment) with the signed-in user, the CSRF token and safe headers."""
    page = {
        "user": getattr(request.state, "ui_user", None),
        "csrf_token": csrf_token(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    remember_csrf(request, response)
    response.headers.update(SECURITY_HEADERS)
    return response


def wants_json(request: Request) -> bool:
    """Requests from the page's own scripts (fetch/XHR) get JSON or fragments, not pages."""
    return request.headers.get("x-requested-with") == "fetch"


def error_answer(request: Request, error: Exception) -> Response:
    """The page (or JSON for scripts) that explains an error in plain words; never a traceback."""
    if isinstance(error, SignInRequired):
        return _to_sign_in(request, error.message)
    status, message, hint = _describe(request, error)
    if wants_json(request):
        return JSONResponse({"error": {"message": message, "hint": hint}}, status_code=status)
    return render(request, "error.html", {"message": message, "hint": hint}, status_code=status)


def _describe(request: Request, error: Exception) -> tuple[int, str, str]:
    if isinstance(error, CsrfRejected):
        return 403, "This form has expired or came from another site.", RELOAD
    if isinstance(error, CustomClassifierError):
        return status_for(error), _sentence(error.message), HINTS.get(error.code, "")
    if isinstance(error, RequestValidationError):
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in error.errors()})
        return 422, f"Some fields are missing or not valid: {', '.join(fields)}.", REFILL
    if isinstance(error, HTTPException):
        return error.status_code, _sentence(str(error.detail)), ""
    error_id = new_error_id()
    logger.exception(
        "unexpected error %s on %s %s", error_id, request.method, request.url.path, exc_info=error
    )
    return 500, f"Something went wrong on the server; it has been logged as {error_id}.", RETRY


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "An error happened."


def _to_sign_in(request: Request, message: str | None) -> Response:
    if wants_json(request):
        body = {"error": {"message": "You are signed out.", "hint": "Sign in again."}}
        return JSONResponse(body, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/ui/login?next={quote(target)}"
    if message:
        location += "&signed_out=1"
    return RedirectResponse(location, status_code=303)


class UiRoute(APIRoute):
    """Every UI route answers errors with `error_answer` instead of the API's JSON envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as error:  # noqa: BLE001 - every error becomes a readable page
                return error_answer(request, error)
            for key, value in SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            return response

        return guarded
