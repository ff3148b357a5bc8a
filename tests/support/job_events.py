"""Following a job over HTTP from a test: its server-sent events, or its state by polling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx


def follow_events(
    client: httpx.Client, job_id: str, timeout: float
) -> list[tuple[str, dict[str, Any]]]:
    """The job's server-sent events as (event name, data), until `end`."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", timeout=timeout) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.partition(":")[2])))
                if name == "end":
                    break
    return events


def wait_for_job(
    client: httpx.Client,
    job_id: str,
    until: Callable[[Any], bool],
    timeout: float,
    poll_seconds: float,
    headers: dict[str, str] | None = None,
) -> Any:
    """The job as the API answers it once `until(job)` holds; an AssertionError at `timeout`."""
    deadline = time.monotonic() + timeout
    job: Any = None
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if until(job):
            return job
        time.sleep(poll_seconds)
    raise AssertionError(f"job {job_id} never reached the state wanted: {job}")


TRAINING_ENDS = frozenset({"accepted", "rejected", "failed", "cancelled"})


def train_until_ended(
    client: httpx.Client, headers: dict[str, str], body: dict[str, Any], timeout: float
) -> Any:
    """Ask for a classifier (`POST /classifiers` must answer 202) and the job once it ended."""
    created = client.post("/api/v1/classifiers", headers=headers, json=body)
    assert created.status_code == 202, created.text
    return wait_for_job(
        client,
        created.json()["id"],
        lambda job: job["status"] in TRAINING_ENDS,
        timeout,
        poll_seconds=0.2,
        headers=headers,
    )
