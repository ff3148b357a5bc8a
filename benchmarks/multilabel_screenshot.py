"""A multi-label training through the API on a small 20 Newsgroups category set, and a PNG of
its report (Debian's Chromium): the scores, the tuned thresholds and the per-label confusion.

    .venv/bin/python -m benchmarks.multilabel_screenshot docs/screenshots [--per-group 12]

The folder is the one `benchmarks.multilabel_20ng` builds (categories of the group names, a
message in the folder of each of its categories), small enough for a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api_latency import start_server
from benchmarks.datasets import dataset_folder
from benchmarks.multilabel_20ng import CATEGORIES, write_folder
from benchmarks.sample_screenshots import report_screenshot

TRAINING = {
    "mode": "auto",
    "max_length": 128,
    "epochs": 3,
    "learning_rate": 1e-4,
    "test_fraction": 0.25,
}
ACCEPTANCE = {"min_macro_f1": 0.3, "min_label_f1": 0.0}


def train(client: httpx.Client) -> dict[str, Any]:
    body = {
        "name": "newsgroup-topics",
        "location": "newsgroups",
        "labels": list(CATEGORIES),
        "training": TRAINING,
        "acceptance": ACCEPTANCE,
    }
    created = client.post("/api/v1/classifiers", json=body)
    created.raise_for_status()
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{created.json()['id']}").json()
        if job["status"] in ("accepted", "rejected", "failed", "cancelled"):
            return job
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--per-group", type=int, default=12)
    options = parser.parse_args()
    from custom_classifier.config import Settings
    from custom_classifier.processes import stop_process

    os.environ["CC_MIN_DOCS_PER_LABEL"] = str(options.per_group)
    with tempfile.TemporaryDirectory(prefix="cc-multilabel-shot-") as tmp:
        home = Path(tmp)
        data_root = Settings(home=home).resolved_data_roots[0]
        write_folder(dataset_folder("20news-train"), data_root / "newsgroups", options.per_group, 1)
        server, base, key = start_server(home)
        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300
            ) as client:
                job = train(client)
            print(job["status"], job.get("metrics", {}).get("micro_f1"), job.get("reasons"))
            options.folder.mkdir(parents=True, exist_ok=True)
            report_screenshot(
                base, key, job["id"], options.folder / "multilabel-report.png", "#label-confusion"
            )
        finally:
            stop_process(server, grace=60)


if __name__ == "__main__":
    main()
