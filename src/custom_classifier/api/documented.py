"""What the OpenAPI document says about a request's path: its operations by method.

The answers that must agree with the document (the `Allow` of a 405, the query parameters an
operation takes) are read from it, so they cannot drift apart.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from starlette.requests import Request


def operations(request: Request) -> dict[str, dict[str, Any]]:
    """`{"GET": operation, ...}` for every documented path template the request's path matches."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})  # built once
    return {
        method.upper(): operation
        for template, by_method in paths.items()
        if _template(template).fullmatch(request.url.path)
        for method, operation in by_method.items()
    }


def query_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}


@lru_cache(maxsize=256)
def _template(path: str) -> re.Pattern[str]:
    """`/jobs/{job_id}` -> a pattern matching `/jobs/<one segment>`."""
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
