"""The error answers a route declares in the OpenAPI document: every status it can return.

Every one has the error envelope. `API_ERRORS` applies to all routes under `/api/v1`; each route
adds its own with `errors(...)`. The fuzzing test fails on any status a route does not declare.
"""

from __future__ import annotations

from typing import Any

from custom_classifier.api import examples
from custom_classifier.api.schemas import ErrorEnvelope

DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key.",
    403: "Only admins may do this.",
    404: "Not found (or not yours).",
    409: "It conflicts with the current state.",
    413: "The request body or the upload is too large (`request_too_large`, `upload_too_large`).",
    422: "The request is not valid; the message says what was expected and what was found.",
    500: "An unexpected error; `details.error_id` names it in the server log.",
    503: "A service it needs (the job queue, MLflow) is not reachable; try again later.",
}


EXAMPLES: dict[int, dict[str, Any]] = {
    401: examples.UNAUTHENTICATED,
    403: examples.FORBIDDEN,
    404: examples.NOT_FOUND,
    409: examples.CONFLICT,
    413: examples.REQUEST_TOO_LARGE,
    422: examples.INVALID_REQUEST,
    500: examples.INTERNAL_ERROR,
    503: examples.SERVICE_UNAVAILABLE,
}


def errors(
    *statuses: int, own_examples: dict[int, dict[str, Any]] | None = None, **descriptions: str
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these statuses, each with an example answer; `status_409="..."` says what
    a status means here, `own_examples={422: ...}` shows this route's own example."""
    own = own_examples or {}
    return {
        status: {
            "model": ErrorEnvelope,
            "description": descriptions.get(f"status_{status}", DESCRIPTIONS[status]),
            "content": {"application/json": {"example": own.get(status, EXAMPLES[status])}},
        }
        for status in statuses
    }


API_ERRORS = errors(401, 500)
