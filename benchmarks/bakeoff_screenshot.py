"""A bake-off of MiniLM and SmolLM2-135M through the served product, and a PNG of its report
(Debian's Chromium): the candidates table and the registered winner.

    .venv/bin/python -m benchmarks.bakeoff_screenshot [--per-label 30] [--out-dir docs/screenshots]

Serves the product as a user does (`custom-classifier serve` in a temporary home), puts the
SmolLM2 GGUF file in that home's models folder (`custom-classifier models fetch smollm2-135m`,
or the copy `benchmarks.llm_cpu` cached), copies `--per-label` BBC documents of two labels into
a data root, asks `POST /api/v1/classifiers` for `base_models: ["minilm", "smollm2-135m"]` with
small options (window 64, one epoch, no ONNX copy: the CPU is slow), waits for the job and takes its report page
full length (`bakeoff-report.png`). Prints the job's status and candidates table as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import httpx  # noqa: E402

from benchmarks.api_latency import start_server  # noqa: E402
from benchmarks.datasets import CACHE  # noqa: E402
from benchmarks.gate import sample_folder  # noqa: E402
from benchmarks.sample_screenshots import report_screenshot  # noqa: E402

LABELS = ["sport", "tech"]
BASE_MODELS = ["minilm", "smollm2-135m"]
TRAINING = {
    "epochs": 1,
    "max_length": 64,
    "batch_size": 8,
    "validation_fraction": 0.2,
    "test_fraction": 0.25,
    "evaluation": "holdout",
    "export_onnx": False,
}
"""Small on purpose: two candidates train one after the other on a busy 2-core CPU (no int8
ONNX copy: both candidates' CPU latency is PyTorch's)."""
JOB_TIMEOUT_SECONDS = 3600


def put_smollm2(home: Path) -> None:
    """The GGUF file in the home's models folder: the benchmarks' cached copy when there is one
    (a link, and its dequantized folder), else `custom-classifier models fetch smollm2-135m`."""
    from custom_classifier.config import Settings
    from custom_classifier.training.presets import SMOLLM2_FILE

    models = Settings(home=home).models_dir
    cached = CACHE / "models" / SMOLLM2_FILE
    if not cached.is_file():
        command = [sys.executable, "-m", "custom_classifier.cli", "models", "fetch"]
        environment = {**os.environ, "CC_HOME": str(home)}
        subprocess.run([*command, "smollm2-135m"], env=environment, check=True)
        return
    models.mkdir(parents=True, exist_ok=True)
    (models / SMOLLM2_FILE).symlink_to(cached)
    for folder in (CACHE / "models").glob(f"{Path(SMOLLM2_FILE).stem}-*"):
        if folder.is_dir():
            (models / folder.name).symlink_to(folder)


def bake_off(client: httpx.Client) -> dict[str, Any]:
    body = {
        "name": "news-bakeoff",
        "location": "bbc",
        "labels": LABELS,
        "base_models": BASE_MODELS,
        "training": TRAINING,
        "acceptance": {"min_macro_f1": 0.5, "min_label_f1": 0.0},
    }
    created = client.post("/api/v1/classifiers", json=body)
    created.raise_for_status()
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{created.json()['id']}").json()
        if job["status"] in ("accepted", "rejected", "failed", "cancelled"):
            return job
        time.sleep(5)
    raise SystemExit(f"the bake-off did not end in {JOB_TIMEOUT_SECONDS} s: {job}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-label", type=int, default=30)
    parser.add_argument("--out-dir", type=Path, default=Path("docs/screenshots"))
    options = parser.parse_args()
    from custom_classifier.config import Settings
    from custom_classifier.processes import stop_process

    os.environ["CC_MIN_DOCS_PER_LABEL"] = str(options.per_label // 2)
    with tempfile.TemporaryDirectory(prefix="cc-bakeoff-shot-") as tmp:
        home = Path(tmp) / "home"
        data = Settings(home=home).resolved_data_roots[0] / "bbc"
        sample_folder("bbc", options.per_label, data, labels=LABELS)
        put_smollm2(home)
        server, base, key = start_server(home)
        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300
            ) as client:
                job = bake_off(client)
            print(json.dumps({"status": job["status"], "bakeoff": job.get("bakeoff")}))
            if job["status"] in ("accepted", "rejected"):
                report_screenshot(
                    base, key, job["id"], options.out_dir / "bakeoff-report.png", "#bakeoff-table"
                )
            else:
                shutil.copy(home / "serve.log", Path(tempfile.gettempdir()) / "bakeoff-serve.log")
                raise SystemExit(f"the bake-off {job['status']}: {job.get('error')}")
        finally:
            stop_process(server, grace=60)


if __name__ == "__main__":
    main()
