"""Load: 32 clients predicting by run id for 60 s, with job listing and health checks, twice:
on an idle service, then while a training runs on the same cores.

Starts `custom-classifier serve` on an empty CC_HOME (the embedded job runner), logs the bundled
MiniLM as a classifier of the admin (with its int8 ONNX copy, as a trained one has), and runs
`--clients` asyncio clients, each on its own connection, for `--seconds`: of every 20 requests,
18 are `POST /api/v1/models/{run_id}/predict` (one 120-word text), one is `GET /api/v1/jobs`
and one `GET /readyz` (health). Any answer but 2xx, or a transport error, is an error.

Then it submits a training (the bundled MiniLM on a generated 3-label folder, enough epochs to
outlast the phase), waits until its worker is training, runs the same load again, and cancels it.

    .venv/bin/python -m benchmarks.load [--clients 32] [--seconds 60] [--skip-training]

Prints a Markdown table and one JSON line, appended to benchmarks/results/load.jsonl, with the
load averages before it started (the machine's other work) and after each phase: latencies
measured on a busy machine measure the contention more than the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api_latency import log_bundled_classifier, make_texts, percentiles, start_server

RESULTS = Path(__file__).resolve().parent / "results" / "load.jsonl"
KINDS = ["predict"] * 18 + ["jobs", "health"]
TRAINING_LABELS = {
    "sport": "match goal team player coach league season striker referee stadium",
    "finance": "market bank stock bond profit revenue investor dividend inflation loan",
    "cooking": "recipe oven flour butter garlic onion pasta sauce bake kitchen",
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def summary(self, elapsed: float) -> dict[str, Any]:
        total = sum(len(samples) for samples in self.latencies.values())
        return {
            "requests": total,
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "requests_per_second": round(total / elapsed, 1),
            **{kind: percentiles(samples) for kind, samples in sorted(self.latencies.items())},
        }


async def _client(
    number: int, base: str, headers: dict[str, str], run_id: str, stop_at: float, tally: Tally
) -> None:
    texts = make_texts(16, seed=number)
    requests = {
        "predict": lambda i: ("POST", f"/api/v1/models/{run_id}/predict", {"text": texts[i % 16]}),
        "jobs": lambda i: ("GET", "/api/v1/jobs?limit=20", None),
        "health": lambda i: ("GET", "/readyz", None),
    }
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as c:
        index = number
        while time.monotonic() < stop_at:
            kind = KINDS[index % len(KINDS)]
            method, path, body = requests[kind](index)
            started = time.perf_counter()
            try:
                response = await c.request(method, path, json=body)
                if not 200 <= response.status_code < 300:
                    tally.errors.append(f"{kind} {response.status_code} {response.text[:200]}")
            except httpx.HTTPError as error:
                tally.errors.append(f"{kind} {type(error).__name__}: {error}")
            tally.add(kind, time.perf_counter() - started)
            index += 1


async def _load(
    base: str, headers: dict[str, str], run_id: str, clients: int, seconds: float
) -> dict[str, Any]:
    tally = Tally()
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(_client(n, base, headers, run_id, stop_at, tally) for n in range(clients))
    )
    return tally.summary(time.monotonic() - started)


def _training_folder(root: Path, per_label: int = 120) -> Path:
    import random

    rng = random.Random(0)
    folder = root / "load-training"
    for label, words in TRAINING_LABELS.items():
        (folder / label).mkdir(parents=True, exist_ok=True)
        vocabulary = words.split()
        for index in range(per_label):
            text = " ".join(rng.choices(vocabulary, k=200))
            (folder / label / f"doc_{index:04d}.txt").write_text(text, encoding="utf-8")
    return folder


def _start_training(base: str, headers: dict[str, str], home: Path) -> str:
    """Submit a training that outlasts the phase; return once its worker is training."""
    folder = _training_folder(home / "data")
    body = {
        "name": "load-training",
        "location": str(folder),
        "labels": list(TRAINING_LABELS),
        "training": {"epochs": 50, "early_stopping_patience": 50, "max_length": 128},
    }
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        created = client.post("/api/v1/classifiers", json=body)
        created.raise_for_status()
        job_id = str(created.json()["id"])
        for _ in range(600):
            job = client.get(f"/api/v1/jobs/{job_id}").json()
            if (job.get("progress") or {}).get("phase") == "training":
                return job_id
            if job["status"] in ("failed", "cancelled", "accepted", "rejected"):
                raise SystemExit(f"the training ended before the load started: {job}")
            time.sleep(1)
    raise SystemExit("the training did not start within 10 minutes")


def _cancel(base: str, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        client.post(f"/api/v1/jobs/{job_id}/cancel")
        for _ in range(120):
            job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] == "cancelled":
                return job
            time.sleep(1)
    return job


def _load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (runnable processes; 2 means both cores busy)."""
    return [round(value, 1) for value in os.getloadavg()]


def _row(name: str, result: dict[str, Any]) -> str:
    cells = [
        f"{result.get(kind, {}).get('p50_ms', '-')} / {result.get(kind, {}).get('p99_ms', '-')}"
        for kind in ("predict", "jobs", "health")
    ]
    return (
        f"| {name} | {result['requests']} | {result['errors']} | {result['requests_per_second']} "
        f"| {' | '.join(cells)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()

    phases: dict[str, dict[str, Any]] = {}
    background = _load_average()  # before anything of ours runs: the machine's other work
    with tempfile.TemporaryDirectory(prefix="cc-load-") as tmp:
        home = Path(tmp)
        server, base, key = start_server(home)
        try:
            headers = {"Authorization": f"Bearer {key}"}
            run_id = log_bundled_classifier(home, owner="admin")
            asyncio.run(_load(base, headers, run_id, clients=2, seconds=3))  # warm the cache
            phases["idle"] = asyncio.run(_load(base, headers, run_id, args.clients, args.seconds))
            phases["idle"]["load_average_after"] = _load_average()
            if not args.skip_training:
                job_id = _start_training(base, headers, home)
                phases["training"] = asyncio.run(
                    _load(base, headers, run_id, args.clients, args.seconds)
                )
                phases["training"]["load_average_after"] = _load_average()
                phases["training"]["job_status_after"] = _cancel(base, headers, job_id)["status"]
        finally:
            server.terminate()
            server.wait(timeout=60)

    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "load_average_before": background,
        "load_average_at_end": _load_average(),
        "clients": args.clients,
        "seconds": args.seconds,
        "model": "bundled all-MiniLM-L6-v2 (int8 ONNX), window 512, 120-word texts",
        **phases,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")
    print(json.dumps(result))
    print(
        "| phase | requests | errors | req/s | predict p50 / p99 ms | jobs p50 / p99 ms "
        "| readyz p50 / p99 ms |\n|---|---|---|---|---|---|---|"
    )
    for name, phase in phases.items():
        print(_row(name, phase))
    print(f"load average (1, 5, 15 min) before the benchmark started: {background}")


if __name__ == "__main__":
    main()
