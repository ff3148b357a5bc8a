"""The one place where errors become HTTP responses: `{"error": {"code", "message", "details"}}`.

Domain code raises `CustomClassifierError` subclasses with a stable `code`; this module maps codes
to statuses. FastAPI's validation errors and HTTP exceptions get the same shape, and anything
unexpected becomes a 500 `internal_error` without a traceback, with an error id that is logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custom_classifier.api.documented import operations
from custom_classifier.errors import ConflictError, CustomClassifierError, NotFoundError

logger = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "invalid_request": 422,
    "invalid_dataset": 422,
    "location_not_allowed": 422,
    "location_not_found": 422,
    "invalid_location": 422,
    "unreadable_document": 422,
    "unsupported_upload": 422,
    "base_model_unavailable": 422,
    "upload_too_large": 413,
    "request_too_large": 413,
    "unauthenticated": 401,
    "forbidden": 403,
    "cancelled": 409,
    "service_unavailable": 503,
    "training_failed": 500,
    "internal_error": 500,
}
CODE_BY_HTTP_STATUS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def status_for(error: CustomClassifierError) -> int:
    """The HTTP status of a domain error: by its code, else by its family."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, ConflictError):
        return 409
    return 500


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return ErrorJSONResponse(body, status_code=status, headers={**extra, **(headers or {})})


class ErrorJSONResponse(JSONResponse):
    """ASCII JSON: an error that quotes the request's text can never fail to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode()


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CustomClassifierError)
    return error_response(status_for(exc), exc.code, exc.message, exc.details)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": [str(part) for part in error.get("loc", ())], "message": _said(error)}
        for error in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(p['location'])}: {p['message']}" for p in problems[:5])
    return error_response(
        422, "invalid_request", f"the request is not valid: {summary}", {"errors": problems}
    )


def _said(error: Mapping[str, Any]) -> str:
    """Pydantic's message, with the length found when a string is too long."""
    message = str(error.get("msg"))
    if error.get("type") == "string_too_long":
        message += f" (found {len(error.get('input') or ())})"
    return message


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": a malformed request
        return error_response(422, "invalid_request", f"the request is not valid: {exc.detail}")
    code = CODE_BY_HTTP_STATUS.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document lists for this path.

    Starlette's 405 names only the methods of the first route whose path matched, but FastAPI
    makes one route per method: `GET` and `POST /api/v1/classifiers` are two routes.
    """
    return sorted(operations(request))


def new_error_id() -> str:
    """A short id that a 500 answer and its log line share, so a report can be traced."""
    return uuid.uuid4().hex[:12]


def unexpected_error_response(error_id: str) -> JSONResponse:
    return error_response(
        500,
        "internal_error",
        f"an unexpected error happened on the server; it has been logged as {error_id}: "
        "quote this id when you report the problem",
        {"error_id": error_id},
    )


class UnexpectedErrorGuard:
    """Any exception that escapes a route becomes the 500 envelope with a logged error id.

    Starlette's own handler for `Exception` answers and then raises again, and uvicorn closes the
    connection of a request that raised, so the client's next request on it failed ("connection
    reset"). This answers and returns: the connection stays open. An exception after the answer
    started (a broken stream) cannot be answered any more and is raised as before.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except Exception:
            error_id = new_error_id()
            logger.exception(
                "unexpected error %s on %s %s", error_id, scope.get("method"), scope.get("path")
            )
            if started:
                raise
            await unexpected_error_response(error_id)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The domain, validation and HTTP error handlers, and the guard for everything else."""
    app.add_exception_handler(CustomClassifierError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(UnexpectedErrorGuard)
