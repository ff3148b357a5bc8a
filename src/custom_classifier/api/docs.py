"""`/docs` (Swagger UI) and `/redoc` (ReDoc), working offline.

FastAPI's pages load their scripts, styles, fonts and favicon from CDNs; with no internet they
stay blank. Here the assets come from the pinned `fastapi-offline` package (served under
`/docs/assets`), and a Content-Security-Policy keeps the pages from reaching out at all (ReDoc
shows a logo from cdn.redoc.ly in its menu; the policy stops that request before it is made).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
_STATIC = files("fastapi_offline") / "static"
# Both pages start from an inline script and style themselves inline; ReDoc searches in a
# web worker made from a blob. Everything else: this service only.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def install_docs(app: FastAPI) -> None:
    """Mount the assets and add the two pages (the app is made with `docs_url=None`)."""
    app.mount(ASSETS, StaticFiles(directory=str(_STATIC)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title}: API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        )
        return _with_policy(page)

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title}: API",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        return _with_policy(page)


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = POLICY
    return page
