"""The first hour's sample: how long it trains with its own options, and how sure its model is.

Starts `custom-classifier serve` on an empty CC_HOME (what `make run` starts: the embedded job
runner, SQLite, a local MLflow store, the bundled MiniLM), writes the sample data set into the
admin's area, trains it with the options the new-classifier form fills in for it
(`SAMPLE_TRAINING`), and waits for the job to end. Then it predicts, by the classifier's name,
the hand-written obvious messages of each label (`OBVIOUS_MESSAGES`).

    .venv/bin/python -m benchmarks.sample_dataset [--screenshots docs/screenshots]

Without `--screenshots` it goes through the REST API. With it, it goes the newcomer's way in
Debian's Chromium instead (welcome panel, "Use the sample data set", the form, the live job
page, the report, the classifier page, /docs) and saves a PNG of each page there.

Prints a Markdown table and one JSON line, appended to benchmarks/results/sample_dataset.jsonl.
The wall time depends on what else runs on the machine: the load average is recorded with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api_latency import start_server
from custom_classifier.config import Settings
from custom_classifier.processes import stop_process
from custom_classifier.services.sample_dataset import (
    OBVIOUS_MESSAGES,
    SAMPLE_CLASSIFIER_NAME,
    SAMPLE_TRAINING,
    create_sample_dataset,
)

RESULTS = Path(__file__).resolve().parent / "results" / "sample_dataset.jsonl"
TERMINAL = {"accepted", "rejected", "failed", "cancelled"}


def train_through_the_api(client: httpx.Client, home: Path) -> str:
    """Submit the sample as the form does; the job id."""
    info = create_sample_dataset(Settings(home=home), "admin")
    body = {
        "name": SAMPLE_CLASSIFIER_NAME,
        "location": info.location,
        "labels": list(info.labels),
        "training": SAMPLE_TRAINING,
    }
    created = client.post("/api/v1/classifiers", json=body)
    created.raise_for_status()
    return str(created.json()["id"])


def wait_for_the_end(client: httpx.Client, job_id: str, timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.5)
    raise SystemExit(f"job {job_id} did not end within {timeout:.0f} s")


def obvious_scores(client: httpx.Client) -> list[dict[str, Any]]:
    rows = []
    for label, messages in OBVIOUS_MESSAGES.items():
        answer = client.post(
            f"/api/v1/classifiers/{SAMPLE_CLASSIFIER_NAME}/predict", json={"texts": messages}
        )
        answer.raise_for_status()
        for message, prediction in zip(messages, answer.json(), strict=True):
            rows.append(
                {
                    "text": message,
                    "expected": label,
                    "label": prediction["label"],
                    "score": round(prediction["score"], 4),
                }
            )
    return rows


def job_seconds(job: dict[str, Any]) -> float | None:
    """From the job's creation (the submission) to its end, as the job page counts it."""
    if not job.get("finished_at"):
        return None
    created = datetime.fromisoformat(job["created_at"])
    return round((datetime.fromisoformat(job["finished_at"]) - created).total_seconds(), 1)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, help="go the UI's way and save PNGs here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cc-bench-sample-") as tmp:
        home = Path(tmp)
        server, base, key = start_server(home)
        headers = {"Authorization": f"Bearer {key}"}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                started = time.monotonic()
                if args.screenshots:
                    from benchmarks.sample_screenshots import train_through_the_ui

                    job = train_through_the_ui(base, key, args.screenshots, client)
                else:
                    job = wait_for_the_end(client, train_through_the_api(client, home))
                waited = time.monotonic() - started
                scores = obvious_scores(client) if job["status"] == "accepted" else []
        finally:
            stop_process(server, grace=120)
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}",
        "via": "ui" if args.screenshots else "api",
        "options": SAMPLE_TRAINING,
        "status": job["status"],
        "job_seconds": job_seconds(job),
        "waited_seconds": round(waited, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "test_macro_f1": (job.get("metrics") or {}).get("macro_f1"),
        "min_obvious_score": min((row["score"] for row in scores), default=None),
        "obvious": scores,
    }
    print("| message | expected | answer | score |\n| --- | --- | --- | --- |")
    for row in scores:
        print(f"| {row['text']} | {row['expected']} | {row['label']} | {row['score']:.3f} |")
    print(json.dumps(record))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as results:
        results.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
