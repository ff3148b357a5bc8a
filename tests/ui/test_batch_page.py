"""The "Classify a folder" page in a real browser: a folder classified by a trained classifier,
its live progress, summary and downloads; a folder outside the data roots refused in the form."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from factories import make_topic_folder
from ui.pages import UiServer, shot, sign_in

pytestmark = pytest.mark.browser

ACCEPT_ALL = {"min_macro_f1": 0.0, "min_label_f1": 0.0}
FAST = {"epochs": 1, "max_length": 32, "batch_size": 8}
DOCUMENTS = 60


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture(scope="module")
def classifier(ui_server: UiServer) -> str:
    """`batch-news`, trained through the API on the shared topics."""
    topics = make_topic_folder(
        ui_server.data_root / "shared", {"sport": 8, "finance": 8}, name="bt"
    )
    body = {"name": "batch-news", "location": str(topics), "labels": ["sport", "finance"]}
    created = ui_server.api(
        "POST", "/classifiers", json=body | {"training": FAST, "acceptance": ACCEPT_ALL}
    )
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = ui_server.api("GET", f"/jobs/{created.json()['id']}").json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "accepted", job
            return "batch-news"
        time.sleep(0.5)
    raise AssertionError("the training did not end in time")


def test_classify_a_folder_and_download_the_predictions(
    page: Any, ui_server: UiServer, classifier: str
) -> None:
    inbox = make_topic_folder(
        ui_server.data_root / "shared", {"sport": 30, "finance": 30}, name="inbox"
    )
    (inbox / "empty.txt").write_text("")
    sign_in(page, ui_server.admin_key)
    page.goto(f"/ui/classifiers/{classifier}")
    page.locator("#classify-folder").click()
    page.wait_for_url("**/ui/predictions?classifier=batch-news")
    expect(page.get_by_label("Classifier (or the run id of a training)")).to_have_value(classifier)
    page.get_by_label("Folder of documents").fill(str(inbox))
    page.get_by_role("button", name="Classify").click()

    page.wait_for_url(re.compile(r"/ui/predictions/[0-9a-f]{32}$"))
    expect(page.get_by_role("progressbar", name="Documents classified")).to_be_visible()
    expect(page.locator("#batch-files")).to_be_visible(timeout=300_000)
    expect(page.locator("#batch-status")).to_have_text("completed")
    expect(page.locator("#batch-done")).to_have_text(
        f"{DOCUMENTS + 1} of {DOCUMENTS + 1} documents"
    )
    expect(page.locator("#summary-counts")).to_have_text(
        f"{DOCUMENTS + 1} documents: {DOCUMENTS} classified, 1 unreadable."
    )
    expect(page.locator("#summary-unreadable")).to_contain_text("empty.txt")
    expect(page.locator("#cancel-form")).to_be_hidden()
    shot(page, "20-batch-prediction")

    csv = page.request.get(page.get_by_role("link", name="Download CSV").get_attribute("href"))
    assert csv.status == 200
    lines = csv.text().strip().splitlines()
    assert (
        lines[0] == "path,label,labels,score,abstained,error,scores" and len(lines) == DOCUMENTS + 2
    )


def test_a_folder_outside_the_data_roots_is_refused_in_the_form(page: Any, classifier: str) -> None:
    page.goto("/ui/predictions")
    page.get_by_label("Classifier (or the run id of a training)").fill(classifier)
    page.get_by_label("Folder of documents").fill("/etc")
    page.get_by_role("button", name="Classify").click()
    expect(page.locator("#form-error")).to_contain_text("/etc")
    expect(page.get_by_label("Folder of documents")).to_have_value("/etc")
