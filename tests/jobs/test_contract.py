"""The job contract: what the API stores in a job row reads back the same in the worker, and what
the worker writes reads back in the API and the UI."""

from __future__ import annotations

from custom_classifier.jobs.contract import JobProgress, JobResult, TrainingRequest
from custom_classifier.training.arguments import (
    AcceptanceCriteria,
    Phase,
    Progress,
    TrainingArguments,
)


def test_a_request_reads_back_as_stored_with_the_job_id_of_its_row() -> None:
    request = TrainingRequest(
        name="news",
        location="/data/news",
        labels=["sport", "finance"],
        owner="alice",
        base_models=("minilm", "smollm2-135m"),
        training=TrainingArguments(epochs=2),
        acceptance=AcceptanceCriteria(min_macro_f1=0.5),
    )

    back = TrainingRequest.from_row(request.to_row(), job_id="j1")

    assert back.job_id == "j1" and back == TrainingRequest(**{**vars(request), "job_id": "j1"})


def test_one_base_model_is_stored_as_before_without_a_bakeoff_list() -> None:
    row = TrainingRequest(name="n", location="/d", labels=["a", "b"], base_model="minilm").to_row()

    assert row["base_model"] == "minilm" and row["base_models"] is None
    assert TrainingRequest.from_row(row).chosen_base_models("default") == ("minilm",)
    assert TrainingRequest.from_row(row | {"base_model": None}).chosen_base_models("d") == ("d",)


def test_a_bakeoffs_progress_keeps_its_candidate() -> None:
    extra = {"candidate": "minilm", "candidate_number": 1, "candidates": 2}
    report = Progress(step=3, total_steps=9, epoch=0.5, loss=0.7, extra=extra)

    row = JobProgress.of(report).to_row()

    assert row["phase"] == "training" and row["candidate"] == {
        "name": "minilm",
        "number": 1,
        "of": 2,
    }
    assert JobProgress.from_row(row) == JobProgress.of(report)


def test_a_row_from_an_older_version_reads_with_what_it_has() -> None:
    progress = JobProgress.from_row({"phase": "training", "step": 2})

    assert progress == JobProgress(phase=Phase.TRAINING, step=2)
    assert JobProgress.from_row(None) is None
    assert JobProgress.from_row({"phase": "unheard-of"}) == JobProgress()


def test_done_keeps_the_last_report_and_leaves_no_time() -> None:
    last = JobProgress(phase=Phase.TRAINING, step=9, total_steps=9, eta_seconds=3.0)

    assert last.done() == JobProgress(phase=Phase.DONE, step=9, total_steps=9, eta_seconds=0.0)


def test_a_failed_jobs_result_keeps_only_the_error_details_and_their_report() -> None:
    failed = JobResult(details={"report": {"problems": ["too few"]}})

    assert failed.to_row() == {"details": {"report": {"problems": ["too few"]}}}
    assert JobResult.from_row(failed.to_row()).report == {"problems": ["too few"]}
    assert JobResult.from_row(None) == JobResult()


def test_a_finished_jobs_result_reads_back_whole() -> None:
    result = JobResult(
        reasons=["too low"],
        baseline={"macro_f1": 0.5},
        data_report={"root": "/d"},
        timings={"total_seconds": 3.0},
        base_model="minilm",
        bakeoff=[{"name": "minilm", "winner": True}],
    )

    assert "details" not in result.to_row()
    assert JobResult.from_row(result.to_row()) == result
    assert result.report == {"root": "/d"}
