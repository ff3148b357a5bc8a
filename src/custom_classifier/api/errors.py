"""The one place where errors become HTTP responses: `{"error": {"code", "message", "details"}}`.

Domain code raises `CustomClassifierError` subclasses with a stable `code`; this module maps codes
to statuses. FastAPI's validation errors and HTTP exceptions get the same shape, and anything
unexpected becomes a 500 `internal_error` without a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from custom_classifier.errors import ConflictError, CustomClassifierError, NotFoundError

logger = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "invalid_request": 422,
    "invalid_dataset": 422,
    "location_not_allowed": 422,
    "location_not_found": 422,
    "unreadable_document": 422,
    "unsupported_upload": 422,
    "base_model_unavailable": 422,
    "upload_too_large": 413,
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
    413: "upload_too_large",
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
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CustomClassifierError)
    return error_response(status_for(exc), exc.code, exc.message, exc.details)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": [str(part) for part in error.get("loc", ())], "message": error.get("msg")}
        for error in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(p['location'])}: {p['message']}" for p in problems[:5])
    return error_response(
        422, "invalid_request", f"the request is not valid: {summary}", {"errors": problems}
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": a malformed request
        return error_response(422, "invalid_request", f"the request is not valid: {exc.detail}")
    code = CODE_BY_HTTP_STATUS.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal_error", "an unexpected error happened on the server; it has been logged"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CustomClassifierError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
