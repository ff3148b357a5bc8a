"""Request bodies are refused with 413 `request_too_large` once larger than the API will read.

A JSON body is parsed whole into memory before its fields are validated, so the caps on texts
and labels alone would come too late: `limits.MAX_JSON_BODY_BYTES` bounds it first. File uploads
(multipart) are streamed to disk and may be `CC_MAX_UPLOAD_BYTES` (plus room for the form).
FastAPI's own `max_body_size` takes one number per route, fixed at import; this one takes the
upload limit from the settings.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custom_classifier.api.errors import error_response

FORM_OVERHEAD_BYTES = 1024 * 1024


class BodyLimit:
    """At once when the declared `Content-Length` is over the limit; else when the bytes received
    pass it (a chunked body), as the `HTTPException` FastAPI lets through from body reading."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.upload_limit if multipart else self.json_limit
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            details = {"limit": limit, "size": int(declared)}
            response = error_response(413, "request_too_large", too_large(limit), details)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> str:
    return (
        f"the request body is larger than the {limit} bytes accepted; send fewer or shorter "
        "texts per request, or upload large documents as files"
    )
