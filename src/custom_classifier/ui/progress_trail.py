"""The points of a job's curves seen so far by this process, so a reloaded job page keeps them.

A job row holds only its latest progress; the event stream samples it. Each process remembers
the samples of the last few jobs it watched (memory only: a restart starts the curves afresh).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

MAX_JOBS = 64
MAX_POINTS = 2000


class ProgressTrail:
    def __init__(self) -> None:
        self._jobs: OrderedDict[str, dict[str, list[dict[str, float]]]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, job_id: str, progress: dict[str, Any] | None) -> None:
        """Keep a new training-loss point (x: the fractional epoch) and, at an epoch's end, a
        validation point."""
        if not progress or progress.get("phase") != "training":
            return
        with self._lock:
            trail = self._trail(job_id)
            epoch, loss = progress.get("epoch"), progress.get("loss")
            if loss is not None and epoch and _new_epoch(trail["loss"], epoch):
                _append(trail["loss"], {"x": float(epoch), "y": float(loss)})
            validation = progress.get("validation")
            if validation and epoch is not None and _new_epoch(trail["validation"], epoch):
                _append(trail["validation"], {"x": float(epoch), **validation})

    def points(self, job_id: str) -> dict[str, list[dict[str, float]]]:
        with self._lock:
            trail = self._jobs.get(job_id) or {"loss": [], "validation": []}
            return {name: list(values) for name, values in trail.items()}

    def _trail(self, job_id: str) -> dict[str, list[dict[str, float]]]:
        if job_id in self._jobs:
            self._jobs.move_to_end(job_id)
        else:
            self._jobs[job_id] = {"loss": [], "validation": []}
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        return self._jobs[job_id]


def _new_epoch(points: list[dict[str, float]], epoch: float) -> bool:
    return not points or points[-1]["x"] < epoch


def _append(points: list[dict[str, float]], point: dict[str, float]) -> None:
    points.append(point)
    if len(points) > MAX_POINTS:
        del points[: len(points) - MAX_POINTS]
