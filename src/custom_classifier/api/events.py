"""Server-sent events that follow a job, shared by the API (`/jobs/{id}/events`) and the job page
(`/ui/jobs/{id}/events`): each reads the job its own way, the stream is the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

EVENT_POLL_SECONDS = 0.5
"""How often the job row is read while someone follows it."""
PING_SECONDS = 15
"""A comment line this often keeps proxies from closing a quiet stream."""

Shown = TypeVar("Shown")


def job_event_stream(
    load: Callable[[], Shown], encode: Callable[[Shown], str], ended: Callable[[Shown], bool]
) -> EventSourceResponse:
    """A `job` event (`encode(load())`) at each change, then `end` once `ended`; `load` reads
    the job in a worker thread, with a session of its own each time."""
    return EventSourceResponse(_job_events(load, encode, ended), ping=PING_SECONDS)


async def _job_events(
    load: Callable[[], Shown], encode: Callable[[Shown], str], ended: Callable[[Shown], bool]
) -> AsyncIterator[dict[str, str]]:
    last = None
    while True:
        shown = await run_in_threadpool(load)
        payload = encode(shown)
        if payload != last:
            last = payload
            yield {"event": "job", "data": payload}
        if ended(shown):
            yield {"event": "end", "data": payload}
            return
        await asyncio.sleep(EVENT_POLL_SECONDS)
