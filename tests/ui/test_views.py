"""The UI's view helpers: how far a job got, time in words, a job as its page shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_classifier.jobs.contract import JobProgress, JobResult, TrainingRequest
from custom_classifier.storage.tables import JobRecord
from custom_classifier.training.arguments import Phase
from custom_classifier.ui.views import (
    duration,
    heat,
    job_view,
    percent_done,
    sentence,
    span,
    time_left,
)

STARTED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def job(status: str, progress: JobProgress | None = None, **values: object) -> JobRecord:
    request = TrainingRequest(name="news", location="/data/news", labels=["a", "b"])
    return JobRecord(
        id="j1",
        owner="alice",
        name="news",
        location="/data/news",
        labels=["a", "b"],
        request=request.to_row(),
        status=status,
        progress=progress.to_row() if progress else None,
        cancel_requested=False,
        **values,
    )


@pytest.mark.parametrize(
    ("status", "progress", "percent"),
    [
        ("queued", JobProgress(), 0.0),
        ("running", JobProgress(phase=Phase.READING, step=5, total_steps=10), 1.0),
        ("running", JobProgress(phase=Phase.PREPARING), 2.0),
        ("running", JobProgress(phase=Phase.TRAINING, step=0, total_steps=100), 3.0),
        ("running", JobProgress(phase=Phase.TRAINING, step=50, total_steps=100), 47.5),
        ("running", JobProgress(phase=Phase.TRAINING, step=100, total_steps=100), 92.0),
        ("running", JobProgress(phase=Phase.EVALUATING), 93.0),
        ("running", JobProgress(phase=Phase.LOGGING), 97.0),
        ("failed", JobProgress(phase=Phase.EVALUATING), 93.0),
        ("accepted", JobProgress(phase=Phase.TRAINING, step=1, total_steps=100), 100.0),
        ("rejected", JobProgress(), 100.0),
    ],
)
def test_percent_done_follows_the_phases(
    status: str, progress: JobProgress, percent: float
) -> None:
    assert percent_done(status, progress) == percent


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "estimating time left…"),
        (-3, "about 0 s left"),
        (42.4, "about 42 s left"),
        (185, "about 3 min 05 s left"),
        (3720, "about 1 h 02 min left"),
    ],
)
def test_time_left_in_words(seconds: float | None, words: str) -> None:
    assert time_left(seconds) == words


@pytest.mark.parametrize(
    ("seconds", "words"), [(0, "0 s"), (59, "59 s"), (65, "1 min 05 s"), (3720, "1 h 02 min")]
)
def test_span_in_words(seconds: int, words: str) -> None:
    assert span(timedelta(seconds=seconds)) == words


def test_duration_says_how_long_a_job_took_or_has_been_running() -> None:
    finished = job("accepted", started_at=STARTED, finished_at=STARTED + timedelta(seconds=65))
    running = job("running", started_at=STARTED)

    assert duration(job("queued")) == ""
    assert duration(finished) == "took 1 min 05 s"
    assert duration(running, now=STARTED + timedelta(seconds=42)) == "running for 42 s"


def test_a_running_job_shows_training_steps_but_not_the_files_counted_while_reading() -> None:
    training = job_view(job("running", JobProgress(phase=Phase.TRAINING, step=4, total_steps=8)))
    reading = job_view(job("running", JobProgress(phase=Phase.READING, step=4, total_steps=8)))

    assert (training["step"], training["total_steps"]) == (4, 8)
    assert training["phase"] == "Fine-tuning the model" and not training["terminal"]
    assert (reading["step"], reading["total_steps"]) == (None, None)
    assert reading["phase"] == "Reading the documents"


def test_a_rejected_job_shows_its_reasons_and_no_time_left() -> None:
    result = JobResult(reasons=["macro-F1 on the test split is 0.333"]).to_row()
    view = job_view(job("rejected", JobProgress(phase=Phase.DONE, eta_seconds=0.0), result=result))

    assert view["terminal"] and view["eta"] == "" and view["percent"] == 100.0
    assert view["reasons"] == ["macro-F1 on the test split is 0.333"]
    assert view["state"] == "Trained, but rejected by the acceptance criteria"


def test_heat_darkens_with_the_share_of_the_row() -> None:
    assert heat(0, 0) == "rgba(37, 99, 235, 0.05)"
    assert heat(10, 10) == "rgba(37, 99, 235, 0.90)"
    assert heat(5, 10, correct=False) == "rgba(220, 38, 38, 0.47)"


def test_sentence_capitalizes_only_the_first_letter() -> None:
    assert sentence("the folder is empty: add PDFs") == "The folder is empty: add PDFs"
    assert sentence("") == ""


def test_the_job_page_says_which_fold_trains_during_cross_validation() -> None:
    from custom_classifier.training.arguments import Progress

    report = Progress(
        step=1, total_steps=5, epoch=0.0, phase=Phase.EVALUATING, extra={"fold": 2, "folds": 5}
    )
    stored = JobProgress.from_row(JobProgress.of(report).to_row())

    assert stored is not None
    assert job_view(job("running", stored))["phase"] == "Cross-validating: training fold 2 of 5"
