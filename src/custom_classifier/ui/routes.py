"""The web UI under `/ui`: sign in, dashboard, first run; the other pages live in `pages_*`.

`install_ui(app)` mounts it into the API's app. Every page calls the same services as the API.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from custom_classifier.api.deps import get_runtime
from custom_classifier.errors import AuthenticationError
from custom_classifier.services import classifiers, jobs, sample_dataset, web_sessions
from custom_classifier.ui import pages_admin, pages_classifiers, pages_predictions, pages_training
from custom_classifier.ui.rendering import HERE, HINTS, UiRoute, render
from custom_classifier.ui.session import (
    CsrfChecked,
    UiUser,
    end_session,
    start_session,
)
from custom_classifier.ui.views import job_view

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
root = APIRouter(include_in_schema=False)


def install_ui(app: FastAPI) -> None:
    """Mount the UI's pages and assets (served by the app itself: it works offline)."""
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(router)
    app.include_router(root)


@root.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/login")
def login_page(request: Request, next: str = "/ui/", signed_out: bool = False) -> Response:
    notice = "You were signed out; sign in again." if signed_out else None
    return render(request, "login.html", {"next": _safe_next(next), "notice": notice})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request, api_key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/ui/"
) -> Response:
    runtime = get_runtime(request)
    try:
        with runtime.databases.admin.session() as session:
            signed_in = web_sessions.sign_in(session, api_key)
    except AuthenticationError as error:
        message = _login_message(api_key, error)
        context = {"next": _safe_next(next), "error": message}
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, response, signed_in)
    return response


def _login_message(api_key: str, error: AuthenticationError) -> str:
    if not api_key.strip():
        return "Paste your API key to sign in."
    if "revoked" in error.message or "disabled" in error.message:
        return f"{error.message[:1].upper()}{error.message[1:]}."
    return "That API key is not valid. Check that you pasted all of it (it starts with cc_)."


def _safe_next(target: str) -> str:
    """Only our own pages: never another site (`//host`) after signing in."""
    return target if target.startswith("/ui/") and not target.startswith("/ui//") else "/ui/"


@router.post("/logout", dependencies=[CsrfChecked])
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    end_session(response)
    return response


@router.get("/")
def dashboard(request: Request, user: UiUser) -> Response:
    """The user's classifiers and jobs, newest first; a welcome on an empty install."""
    runtime = get_runtime(request)
    with runtime.databases.metadata.sessions() as session:
        records = jobs.list_jobs(session, user, limit=50)
        job_rows = [{**job_view(r), "created_at": r.created_at} for r in records]
    infos = classifiers.list_classifiers(runtime.registry, user)
    infos.sort(key=lambda c: c.versions[0].created_at if c.versions else c.created_at)
    context = {"jobs": job_rows, "classifiers": infos[::-1], "nav": "dashboard"}
    return render(request, "dashboard.html", context | {"sample": _SAMPLE_FACTS})


_SAMPLE_FACTS = {
    "messages": sample_dataset.PER_LABEL * len(sample_dataset.SAMPLE_LABELS),
    "labels": sample_dataset.SAMPLE_LABELS,
}


@router.post("/sample", dependencies=[CsrfChecked])
def create_sample(request: Request, user: UiUser) -> Response:
    """Write the sample data set into the user's area and open the new-classifier form on it."""
    info = sample_dataset.create_sample_dataset(get_runtime(request).settings, user.username)
    query = urlencode({"location": info.location, "preset": "sample"})
    return RedirectResponse(f"/ui/new?{query}", status_code=303)


for pages in (pages_training, pages_classifiers, pages_predictions, pages_admin):
    router.include_router(pages.router)


@router.get("/{unknown:path}")
def not_found(request: Request, unknown: str) -> Response:
    """Any other address under /ui: a page that says so (the API answers JSON 404s)."""
    context = {"message": "There is no page at this address.", "hint": HINTS["not_found"]}
    return render(request, "error.html", context, status_code=404)
