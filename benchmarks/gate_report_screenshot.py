"""The report page of a retraining, in Debian's Chromium: the gate with the test documents shared
with the champion and the reliability diagrams.

    nice .venv/bin/python -m benchmarks.gate_report_screenshot [--per-label 80] [--added 40]
        [--out-dir docs/screenshots]

Samples BBC sport and tech (`--per-label` each) into a labeled folder, serves the product (the
real app and embedded runner in a temporary home, the bundled model), trains `news` through the
API, adds `--added` documents per label, trains `news` again, and takes both jobs' report pages
full length (`gate-report-first.png`, `gate-report-retrained.png`). Prints the two jobs' gate
summaries as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import httpx  # noqa: E402

from benchmarks.gate import sample_folder  # noqa: E402
from benchmarks.sample_screenshots import CHROMIUM, CHROMIUM_ARGS, _shrink  # noqa: E402

LABELS = ["sport", "tech"]
TRAINING = {"epochs": 2, "max_length": 128}


def _serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server, thread


def _train(client: httpx.Client) -> dict[str, Any]:
    body = {"name": "news", "location": "bbc", "labels": LABELS, "training": TRAINING}
    created = client.post("/api/v1/classifiers", json=body)
    created.raise_for_status()
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{created.json()['id']}").json()
        if job["status"] in ("accepted", "rejected", "failed", "cancelled"):
            return job
        time.sleep(1)


def _screenshots(base: str, key: str, shots: dict[str, str], folder: Path) -> None:
    """`shots`: file name -> job id."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860}, base_url=base)
        page.goto("/ui/login")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui/")
        folder.mkdir(parents=True, exist_ok=True)
        for name, job_id in shots.items():
            page.goto(f"/ui/jobs/{job_id}/report")
            page.screenshot(path=str(folder / name), full_page=True)
            _shrink(folder / name)
        browser.close()


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    gate = job.get("gate") or {}
    calibration = gate.get("calibration") or {}
    return {
        "status": job["status"],
        "macro_f1": gate.get("intervals", {}).get("macro_f1"),
        "champion_verdict": (gate.get("champion") or {}).get("verdict"),
        "shared_test": gate.get("shared_test"),
        "test_ece": [calibration.get("test_ece_before"), calibration.get("test_ece_after")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-label", type=int, default=80)
    parser.add_argument("--added", type=int, default=40)
    parser.add_argument("--out-dir", type=Path, default=Path("docs/screenshots"))
    options = parser.parse_args()

    from custom_classifier.app import create_app
    from custom_classifier.config import Settings
    from custom_classifier.services import users

    with tempfile.TemporaryDirectory(prefix="cc-gate-shot-") as tmp:
        settings = Settings(home=Path(tmp) / "home", min_docs_per_label=10)
        data = settings.resolved_data_roots[0] / "bbc"
        both = sample_folder("bbc", options.per_label + options.added, Path(tmp) / "all")
        assert set(LABELS) <= set(both), both
        app = create_app(settings)
        base, server, thread = _serve(app)
        with app.state.runtime.databases.admin.session() as session:
            users.create_user(session, "alice", is_admin=True)
            key = users.create_api_key(session, "alice").key
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})
        for label in LABELS:
            files = sorted((Path(tmp) / "all" / label).iterdir())
            (data / label).mkdir(parents=True)
            for file in files[: options.per_label]:
                (data / label / file.name).write_bytes(file.read_bytes())
        first = _train(client)
        for label in LABELS:
            for file in sorted((Path(tmp) / "all" / label).iterdir())[options.per_label :]:
                (data / label / file.name).write_bytes(file.read_bytes())
        second = _train(client)
        shots = {"gate-report-first.png": first["id"], "gate-report-retrained.png": second["id"]}
        _screenshots(base, key, shots, options.out_dir)
        server.should_exit = True
        thread.join(timeout=60)
    print(json.dumps({"first": _summary(first), "second": _summary(second)}))


if __name__ == "__main__":
    main()
