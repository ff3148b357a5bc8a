"""A newcomer's path through the UI in a real browser: sign in, first run, train, watch, read the
report, try the classifier, roll back, fix an invalid folder, manage users.

The tests share one server, one tab and one trained classifier, and run in file order.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from custom_classifier.services.sample_dataset import PER_LABEL
from factories import FROZEN_LEARNING_RATE, make_labeled_folder, make_zip, topic_folder_files
from ui.pages import MIN_DOCS, UiServer, shot, sign_in

pytestmark = pytest.mark.browser

SPORT_TEXT = "football match goal striker league team stadium referee"
ACCEPT_ALL = {"min_macro_f1": "0", "min_label_f1": "0"}
TRAINING_TIMEOUT_MS = 300_000
FIRST_PREDICTION_TIMEOUT_MS = 120_000
"""The first prediction loads the model from the MLflow store."""


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def test_sign_in_refuses_a_wrong_key_then_opens_the_first_run_page(
    page: Any, ui_server: UiServer
) -> None:
    page.goto("/")
    page.wait_for_url("**/ui/login**")
    page.get_by_label("API key").fill("cc_nothing_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    shot(page, "01-sign-in")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert "cc_session" not in cookies

    sign_in(page, ui_server.admin_key)
    session = {c["name"]: c for c in page.context.cookies()}["cc_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    expect(page.get_by_role("heading", level=1)).to_contain_text("first classifier")
    shot(page, "02-first-run")


def test_the_sample_data_set_opens_the_form_ready_to_train(page: Any) -> None:
    welcome = page.locator(".welcome")
    expect(welcome).to_contain_text(f"{PER_LABEL * 3} short customer-support messages")
    expect(welcome.locator("#sample-off-topic")).to_contain_text("even a text about something")
    page.get_by_role("button", name="Use the sample data set").click()
    page.wait_for_url("**/ui/new?**")
    for label in ("billing", "shipping", "technical"):
        row = page.locator(".label-row", has_text=label)
        expect(row).to_contain_text(f"{PER_LABEL} usable")
        expect(row.get_by_role("checkbox")).to_be_checked()
    expect(page.get_by_label("Classifier name")).to_have_value("support-messages")
    # The sample's own options, said so; the general defaults stay for real documents.
    expect(page.locator("#form-notice")).to_contain_text("set for this small sample")
    expect(page.get_by_label("Window length (tokens)")).to_have_value("64")
    expect(page.get_by_label("Batch size")).to_have_value("8")
    expect(page.get_by_label("Learning rate")).to_have_value("0.0002")
    expect(page.get_by_label("Estimate the scores with")).to_have_value("holdout")


def test_create_a_classifier_from_a_folder_and_watch_it_train(
    page: Any, ui_server: UiServer
) -> None:
    page.goto("/ui/new")
    page.get_by_label("Classifier name").fill("topics")
    browse = page.locator("#browse-panel")
    browse.get_by_role("link", name=re.compile("data$")).click()
    browse.get_by_role("link", name="shared").click()
    # `shared` holds data sets, not labels: no plain "Use this folder", and what it would use.
    expect(browse.locator("#use-folder")).to_contain_text("they look like data sets")
    expect(browse.locator("#use-folder-labels")).to_contain_text("labels: topics (42)")
    expect(browse.get_by_role("link", name="Use this folder", exact=True)).to_have_count(0)
    shot(page, "03a-browse-parent-of-a-data-set")
    browse.get_by_role("link", name="topics").click()
    expect(browse).to_contain_text("cooking")
    expect(browse.locator("#use-folder-labels")).to_have_text(
        "labels: cooking (14), finance (14), sport (14)"
    )
    browse.get_by_role("link", name="Use this folder", exact=True).click()
    expect(page.get_by_label("sport")).to_be_checked()
    expect(page.locator(".label-row", has_text="finance")).to_contain_text("14 usable")
    page.get_by_label("cooking").uncheck()
    page.locator("#advanced summary").click()
    page.get_by_label("Epochs (at most)").fill("2")
    page.get_by_label("Window length (tokens)").fill("32")
    page.get_by_label("Batch size").fill("8")
    page.get_by_label("Accept when macro-F1 is at least").fill(ACCEPT_ALL["min_macro_f1"])
    page.get_by_label("…and every label's F1 is at least").fill(ACCEPT_ALL["min_label_f1"])
    shot(page, "03-new-classifier")
    page.get_by_role("button", name="Start training").click()

    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f]{32}$"))
    expect(page.get_by_role("progressbar", name="Training progress")).to_be_visible()
    shot(page, "04-job-live")
    report_link = page.get_by_role("link", name="Read the report")
    expect(report_link).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("#job-status")).to_have_text("accepted")
    expect(page.locator("#job-percent")).to_have_text("100 %")
    expect(page.locator("#job-duration")).to_have_text(re.compile(r"^ · took \d+ (s|min \d\d s)$"))
    expect(page.locator("#cancel-form")).to_be_hidden()
    expect(page.locator("#loss-chart path")).to_have_count(1)
    expect(page.locator("#val-chart path")).to_have_count(2)
    shot(page, "05-job-finished")


def test_the_report_shows_the_verdict_scores_matrix_and_data(
    page: Any, ui_server: UiServer
) -> None:
    page.get_by_role("link", name="Read the report").click()
    page.wait_for_url("**/report")
    expect(page.locator("#verdict")).to_contain_text("Accepted and registered as version 1")
    expect(page.locator("#score-macro_f1")).to_have_text(re.compile(r"^[01]\.\d{3}$"))
    expect(page.locator(".score", has_text="Accuracy")).to_contain_text("baseline")
    expect(page.locator("#per-label tbody tr")).to_have_count(2)
    expect(page.locator("#confusion tbody td")).to_have_count(4)
    expect(page.locator("#data-report")).to_contain_text("sport")
    command = page.locator("#mlflow-command")
    expect(command).to_contain_text(f"CC_HOME={ui_server.home}")
    expect(command).to_contain_text("/bin/custom-classifier mlflow-ui")
    # Both epochs' validation scores (macro-F1 and accuracy), read back from the MLflow run.
    expect(page.locator("#val-chart .marker")).to_have_count(4)
    shot(page, "06-report")


def test_try_it_with_text_and_with_a_file(page: Any, tmp_path: Path) -> None:
    page.get_by_role("link", name="Try it").click()
    page.wait_for_url("**/ui/classifiers/topics**")
    page.get_by_label("Text to classify").fill(SPORT_TEXT)
    page.get_by_role("button", name="Classify").click()
    prediction = page.locator("#prediction")
    expect(prediction.locator("#predicted-label")).to_have_text(
        re.compile("^(sport|finance)$"), timeout=FIRST_PREDICTION_TIMEOUT_MS
    )
    expect(prediction.locator(".bars li")).to_have_count(2)
    expect(prediction).to_contain_text("the pasted text")
    expect(page.locator("#off-topic-note")).to_contain_text("even a text about something else")
    shot(page, "07-try-text")

    document = tmp_path / "match-report.txt"
    document.write_text(SPORT_TEXT + " tennis champion season", encoding="utf-8")
    page.get_by_label("Text to classify").fill("")
    page.locator("#try-file").set_input_files(str(document))
    page.get_by_role("button", name="Classify").click()
    expect(prediction).to_contain_text("match-report.txt")
    expect(prediction.locator(".bars li")).to_have_count(2)
    shot(page, "08-try-file")


def test_the_classifier_page_gives_commands_that_work_when_pasted(
    page: Any, ui_server: UiServer
) -> None:
    page.goto("/ui/classifiers/topics")
    run_id = page.locator("#champion-run-id").inner_text()
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)
    expect(page.locator("#docs-link")).to_have_attribute("href", "/docs")
    by_name = page.locator("#curl-by-name").inner_text()
    by_run = page.locator("#curl-by-run").inner_text()
    assert f"{ui_server.url}/api/v1/classifiers/topics/predict" in by_name
    assert f"{ui_server.url}/api/v1/models/{run_id}/predict" in by_run
    page.locator("#api").scroll_into_view_if_needed()
    shot(page, "08a-classifier-api-commands")

    for command in (by_name, by_run):
        answer = subprocess.run(
            ["bash", "-c", command],
            env={**os.environ, "CC_API_KEY": ui_server.admin_key},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["label"] in ("sport", "finance"), answer.stdout


def test_roll_the_champion_back_to_an_earlier_version(page: Any, ui_server: UiServer) -> None:
    body = {
        "name": "topics",
        "location": "shared/topics",
        "labels": ["sport", "finance"],
        "training": {"epochs": 1, "max_length": 32, "batch_size": 8},
        "acceptance": {"min_macro_f1": 0.0, "min_label_f1": 0.0},
    }
    response = ui_server.api("POST", "/classifiers", json=body)
    assert response.status_code == 202, response.text
    page.goto(f"/ui/jobs/{response.json()['id']}")
    expect(page.locator("#job-status")).to_have_text("accepted", timeout=TRAINING_TIMEOUT_MS)

    page.goto("/ui/classifiers/topics")
    expect(page.locator("#version-2 .badge")).to_have_text(["champion"])
    page.get_by_role("button", name="Make version 1 the champion").click()
    page.wait_for_url("**/ui/classifiers/topics**")
    expect(page.locator("#version-1 .badge")).to_have_text(["champion"])
    expect(page.locator("#version-2 .badge")).to_have_count(0)
    assert ui_server.api("GET", "/classifiers/topics").json()["aliases"]["champion"] == 1
    shot(page, "09-classifier-rolled-back")


def test_an_invalid_folder_shows_its_problems_before_anything_is_queued(
    page: Any, ui_server: UiServer
) -> None:
    files = topic_folder_files({"sport": MIN_DOCS + 2, "finance": 2})
    root = make_labeled_folder(
        ui_server.data_root / "shared",
        {
            "sport": [t for n, t in files.items() if n.startswith("sport")],
            "finance": [t for n, t in files.items() if n.startswith("finance")],
        },
        name="too-small",
    )
    (root / "finance" / "empty.txt").write_text("", encoding="utf-8")
    jobs_before = ui_server.api("GET", "/jobs").json()["count"]

    page.goto("/ui/new")
    page.get_by_label("Classifier name").fill("too-small")
    page.get_by_label("Folder to train on").fill("shared/too-small")
    page.get_by_role("button", name="Check folder").click()
    finance = page.locator(".label-row", has_text="finance")
    expect(finance.locator(".problem")).to_contain_text("at least 5 are required")
    expect(finance).to_contain_text("Skipped: 1 empty")
    expect(finance.get_by_role("checkbox")).not_to_be_checked()

    finance.get_by_role("checkbox").check()
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#problems-summary")).to_contain_text("Training was not started")
    expect(page.locator(".label-row", has_text="finance").locator(".problem")).to_contain_text(
        "2 usable documents"
    )
    shot(page, "10-invalid-dataset")
    assert ui_server.api("GET", "/jobs").json()["count"] == jobs_before

    # Redirected after the POST: a reload shows the same form again and sends nothing.
    assert "/ui/new?retry=" in page.url
    page.reload()
    expect(page.locator("#problems-summary")).to_contain_text("Training was not started")
    expect(page.get_by_label("Classifier name")).to_have_value("too-small")
    expect(page.locator(".label-row", has_text="finance").get_by_role("checkbox")).to_be_checked()
    assert ui_server.api("GET", "/jobs").json()["count"] == jobs_before


def test_a_folder_outside_the_data_roots_is_refused_in_one_message(
    page: Any, ui_server: UiServer
) -> None:
    page.goto("/ui/new")
    page.get_by_label("Classifier name").fill("elsewhere")
    page.get_by_label("Folder to train on").fill("/etc")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url("**/ui/new?retry=*")
    expect(page.get_by_text("outside the allowed data roots")).to_have_count(1)
    expect(page.get_by_label("Folder to train on")).to_have_value("/etc")
    shot(page, "10a-outside-the-data-roots")


def test_upload_a_zip_and_see_its_labels(page: Any, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "mail.zip", topic_folder_files({"sport": MIN_DOCS, "cooking": MIN_DOCS})
    )
    page.goto("/ui/new")
    page.get_by_label("Zip file").set_input_files(str(archive))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status")).to_contain_text("Uploaded: 2 label folders")
    expect(page.locator(".label-row", has_text="cooking")).to_contain_text(f"{MIN_DOCS} usable")
    expect(page.get_by_label("Folder to train on")).to_have_value(re.compile(r"users/admin/mail$"))
    expect(page.get_by_label("Classifier name")).to_have_value("mail")
    shot(page, "11-uploaded-zip")


def test_admin_creates_a_user_whose_key_signs_in(
    page: Any, browser: Any, ui_server: UiServer
) -> None:
    page.goto("/ui/admin")
    page.get_by_label("Username").fill("alice")
    page.get_by_role("button", name="Create user and key").click()
    key = page.get_by_label("The new API key").input_value()
    assert key.startswith("cc_")
    shot(page, "12-admin")

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, base_url=ui_server.url
    )
    try:
        tab = phone.new_page()
        sign_in(tab, key)
        expect(tab.get_by_role("heading", level=1)).to_contain_text("first classifier")
        tab.goto("/ui/classifiers/topics")
        expect(tab.get_by_role("alert")).to_contain_text("topics")
        shot(tab, "13-phone-not-found")
    finally:
        phone.close()


def test_forged_forms_and_unknown_pages_get_plain_answers(page: Any) -> None:
    response = page.request.post("/ui/sample", form={"csrf_token": "forged"})
    assert response.status == 403
    assert "expired" in response.text()
    missing = page.goto("/ui/no-such-page")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("alert")).to_contain_text("There is no page at this address")


def test_the_dashboard_lists_classifiers_and_jobs_newest_first(page: Any) -> None:
    page.goto("/ui/")
    expect(page.locator("table").first).to_contain_text("topics")
    statuses = page.locator("tbody .badge").all_inner_texts()
    assert statuses[:2] == ["accepted", "accepted"]
    expect(page.locator("td.duration").first).to_have_text(re.compile(r"^\d+ (s|min \d\d s)$"))
    shot(page, "14-dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/ui/jobs/" + _first_report_id(page))
    shot(page, "15-phone-report")
    page.set_viewport_size({"width": 1280, "height": 860})


def _first_report_id(page: Any) -> str:
    href = page.get_by_role("link", name="Report").first.get_attribute("href")
    return str(href).split("/")[3] + "/report"


def test_cancel_a_running_training_from_its_page(page: Any, ui_server: UiServer) -> None:
    body = {
        "name": "topics",
        "location": "shared/topics",
        "labels": ["sport", "finance"],
        # Long enough to be caught running: many epochs, no early stop (a frozen model never
        # reaches the perfect validation score that would stop it).
        "training": {
            "epochs": 1000,
            "early_stopping_patience": 1000,
            "max_length": 32,
            "learning_rate": FROZEN_LEARNING_RATE,
        },
        "acceptance": {"min_macro_f1": 0.0, "min_label_f1": 0.0},
    }
    response = ui_server.api("POST", "/classifiers", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    page.goto(f"/ui/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("running", timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("#job-step")).to_contain_text("step", timeout=TRAINING_TIMEOUT_MS)

    # Opened (again) mid-training, the page shows every point the training recorded so far.
    _wait_for_validation_points(ui_server, job_id, 2)
    page.goto(f"/ui/jobs/{job_id}")
    expect(page.locator("#val-chart rect.marker")).not_to_have_count(0)
    macro_f1 = page.locator("#val-chart rect.marker").count()
    assert macro_f1 >= 2 and page.locator("#val-chart circle.marker").count() == macro_f1
    loss_path = page.locator("#loss-chart path").get_attribute("d") or ""
    assert loss_path.count("L") + 1 >= macro_f1  # a loss point at each epoch's end, at least
    expect(page.locator("#job-status")).to_have_text("running")
    shot(page, "16a-job-reopened-mid-training")

    page.once("dialog", lambda dialog: dialog.accept())  # "Stop this training? ..."
    page.get_by_role("button", name="Cancel training").click()

    expect(page.locator("#job-status")).to_have_text("cancelled", timeout=TRAINING_TIMEOUT_MS)
    expect(page.get_by_role("link", name="Start a new training")).to_be_visible()
    expect(page.locator("#cancel-form")).to_be_hidden()
    expect(page.locator("#job-percent")).not_to_have_text("100 %")  # the bar stays where it stopped
    shot(page, "16-job-cancelled")
    job = ui_server.api("GET", f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["registered_model"] is None
    versions = ui_server.api("GET", "/classifiers/topics").json()["versions"]
    assert len(versions) == 2  # nothing registered by the cancelled training


def _wait_for_validation_points(ui_server: UiServer, job_id: str, count: int) -> None:
    deadline = time.monotonic() + TRAINING_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        job = ui_server.api("GET", f"/jobs/{job_id}").json()
        if len(job["curves"]["validation"]) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} recorded fewer than {count} validation points: {job}")
