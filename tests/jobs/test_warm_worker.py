"""A training worker's process warming up before its first job."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

import pytest
from celery import Celery
from celery.signals import worker_process_init

from custom_classifier.config import Settings
from custom_classifier.jobs import celery_app, warm_worker


def test_the_job_modules_are_imported_and_left_out_of_later_collections() -> None:
    try:
        warm_worker.import_job_modules.__wrapped__()
        assert all(name in sys.modules for name in warm_worker.JOB_MODULES)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_by_default_only_a_machine_with_an_nvidia_gpu_warms_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = tmp_path / "nvidiactl"
    monkeypatch.setattr(warm_worker, "NVIDIA_DEVICE", device)
    settings = Settings(home=tmp_path)
    assert not warm_worker.wants_warm_up(settings)
    device.touch()
    assert warm_worker.wants_warm_up(settings)
    assert not warm_worker.wants_warm_up(Settings(home=tmp_path, worker_warm_up=False))


def test_a_part_that_fails_to_warm_up_is_logged_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def failing() -> None:
        raise OSError("no such file")

    monkeypatch.setattr(warm_worker, "import_job_modules", failing)
    monkeypatch.setattr(warm_worker, "_open_store", lambda settings: ran.append("store"))
    monkeypatch.setattr(warm_worker, "_start_cuda", lambda: ran.append("cuda"))
    monkeypatch.setattr(warm_worker, "_keep_baseline_child", lambda: ran.append("baseline"))
    monkeypatch.setattr(warm_worker, "_load_base_model", lambda settings: ran.append("model"))
    monkeypatch.setattr(warm_worker, "_draw_figure", lambda: ran.append("figure"))
    monkeypatch.setattr(warm_worker, "_read_requirements", lambda: ran.append("requirements"))

    with caplog.at_level(logging.WARNING):
        warm_worker.warm_up_worker(Settings(home=tmp_path))

    assert ran == ["baseline", "store", "cuda", "model", "figure", "requirements"]
    assert "imports failed" in caplog.text


def test_each_celery_worker_process_warms_up_as_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warmed: list[Settings] = []
    monkeypatch.setattr(warm_worker, "warm_up_worker", warmed.append)
    settings = Settings(home=tmp_path)
    app = Celery("test", set_as_current=False)
    receivers = list(worker_process_init.receivers or [])
    try:
        celery_app.warm_up_each_process(app, settings)
        worker_process_init.send(sender=None)
    finally:
        worker_process_init.receivers = receivers

    assert warmed == [settings]
    assert app.conf.worker_proc_alive_timeout >= 60  # Celery's 4 s would kill it


def test_a_warm_worker_keeps_a_baseline_child_waiting_for_its_next_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from custom_classifier.training import baseline_process

    spare = baseline_process.SpareBaseline()
    monkeypatch.setattr(baseline_process, "SPARE", spare)
    warm_worker._keep_baseline_child()
    child = spare.take()
    with child:
        assert child.waiting()
    spare.refill()  # as a job does once its baseline has ended
    with spare.take() as next_child:
        assert next_child is not child and next_child.waiting()


def test_the_warm_up_draws_a_figure_as_a_job_logs_its_confusion_matrix() -> None:
    warm_worker._draw_figure()
    assert "matplotlib.backends.backend_agg" in sys.modules


def test_the_warm_up_loads_the_default_base_model_once(
    tmp_path: Path, tiny_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_classifier.training import backbones

    loaded: list[str] = []
    load = backbones.load_base_model
    monkeypatch.setattr(
        backbones, "load_base_model", lambda name, labels: loaded.append(name) or load(name, labels)
    )
    warm_worker._load_base_model(Settings(home=tmp_path, base_model=str(tiny_base_model)))
    assert loaded == [str(tiny_base_model)]


def test_a_job_in_a_warm_worker_takes_the_waiting_baseline_child_and_leaves_another(
    tiny_base_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_classifier.jobs.contract import TrainingRequest
    from custom_classifier.jobs.training_run import run_training
    from custom_classifier.training import baseline_process
    from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments
    from factories import make_topic_folder

    started: list[baseline_process.BaselineProcess] = []

    class Recorded(baseline_process.BaselineProcess):
        def __init__(self) -> None:
            super().__init__()
            started.append(self)

    monkeypatch.setattr(baseline_process, "BaselineProcess", Recorded)
    monkeypatch.setattr(baseline_process, "SPARE", baseline_process.SpareBaseline())
    baseline_process.SPARE.keep()  # as the warm-up does
    labels = ["sport", "finance"]
    request = TrainingRequest(
        name="news",
        location=str(make_topic_folder(tmp_path / "data", dict.fromkeys(labels, 12))),
        labels=labels,
        training=TrainingArguments(epochs=1, max_length=32, export_onnx=False),
        acceptance=AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.0, beat_baseline=False),
    )
    settings = Settings(
        home=tmp_path / "home", min_docs_per_label=5, base_model=str(tiny_base_model)
    )

    outcome = run_training(request, settings)

    assert len(started) == 2  # the spare, then the next job's
    used, waiting = started
    assert not used.waiting() and waiting.waiting()
    assert outcome.baseline == used.result().to_dict()
    with waiting:
        pass


def test_the_warm_up_checks_the_model_requirements_as_logging_a_model_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow.utils import requirements_utils

    from custom_classifier.registry.packaging import pip_requirements

    checked: list[list[str]] = []
    monkeypatch.setattr(
        requirements_utils, "warn_dependency_requirement_mismatches", checked.append
    )
    warm_worker._read_requirements()
    assert checked == [pip_requirements(with_onnx=True)]
