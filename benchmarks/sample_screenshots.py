"""The newcomer's way through the UI with the sample, in Debian's Chromium, a PNG of each page.

Used by `benchmarks/sample_dataset.py --screenshots DIR`: sign in, the welcome panel, "Use the
sample data set", the form (advanced options open), the live job page, the finished job, the
report, the classifier page with an obvious message classified and its curl commands, the
dashboard, and /docs with every request outside the server blocked. PNGs are quantized to 256
colours (Pillow) so that each stays small enough to keep in the repository.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from custom_classifier.services.sample_dataset import OBVIOUS_MESSAGES, SAMPLE_CLASSIFIER_NAME

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
CHROMIUM_ARGS += ["--disable-background-networking", "--disable-component-update"]
TRAINING_TIMEOUT_MS = 3_600_000
FIRST_PREDICTION_MS = 600_000
"""The first prediction loads the model from the MLflow store (minutes on a busy machine)."""
LIVE_STEP = 20
"""The job page is taken once this many training steps are done (curves to show)."""


def train_through_the_ui(base: str, key: str, folder: Path, client: httpx.Client) -> dict[str, Any]:
    """Train the sample as a newcomer would, saving screenshots; the finished job (from the API)."""
    from playwright.sync_api import expect, sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
        context.set_default_timeout(120_000)
        context.route("**/*", lambda route: _only_the_server(route, base))
        page = context.new_page()

        def shot(name: str, *, full_page: bool = True) -> None:
            path = folder / f"{name}.png"
            page.screenshot(path=str(path), full_page=full_page)
            _shrink(path)

        page.goto("/ui/login")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui/")
        shot("01-welcome")

        page.get_by_role("button", name="Use the sample data set").click()
        page.wait_for_url("**/ui/new?**")
        page.locator("#advanced summary").click()
        shot("02-new-classifier-sample")

        page.get_by_role("button", name="Start training").click()
        page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f]{32}$"))
        job_id = page.url.rsplit("/", 1)[1]
        _wait_for_step(client, job_id, LIVE_STEP)
        page.wait_for_timeout(1500)  # the next server-sent event redraws the curves
        shot("03-job-live")

        report = page.get_by_role("link", name="Read the report")
        expect(report).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
        shot("04-job-finished")
        report.click()
        page.wait_for_url("**/report")
        shot("05-report")

        page.goto(f"/ui/classifiers/{SAMPLE_CLASSIFIER_NAME}")
        page.get_by_label("Text to classify").fill(OBVIOUS_MESSAGES["billing"][0])
        page.get_by_role("button", name="Classify").click()
        expect(page.locator("#predicted-label")).to_have_text(
            "billing", timeout=FIRST_PREDICTION_MS
        )
        shot("06-classifier")

        page.goto("/ui/")
        shot("07-dashboard")

        page.goto("/docs")
        page.get_by_text("Classify texts with a classifier").first.wait_for()
        shot("08-api-docs-offline", full_page=False)
        browser.close()
    return dict(client.get(f"/api/v1/jobs/{job_id}").json())


def _wait_for_step(client: httpx.Client, job_id: str, step: int) -> None:
    for _ in range(7200):
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        progress = job.get("progress") or {}
        if progress.get("phase") == "training" and progress.get("step", 0) >= step:
            return
        if job["status"] in ("accepted", "rejected", "failed", "cancelled"):
            return
        time.sleep(0.5)


def report_screenshot(base: str, key: str, job_id: str, path: Path, ready: str) -> None:
    """Sign in with `key`, open the job's report, wait for the element `ready` (a CSS
    selector), and save the whole page as a quantized PNG at `path`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
        context.route("**/*", lambda route: _only_the_server(route, base))
        page = context.new_page()
        page.goto("/ui/login")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui/")
        page.goto(f"/ui/jobs/{job_id}/report")
        page.locator(ready).wait_for()
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    _shrink(path)


def _shrink(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _only_the_server(route: Any, base: str) -> None:
    """The product runs offline: any request elsewhere fails, as it would without internet."""
    if urlsplit(route.request.url).netloc == urlsplit(base).netloc:
        route.continue_()
    else:
        route.abort()
