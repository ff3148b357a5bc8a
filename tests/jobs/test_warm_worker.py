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

    with caplog.at_level(logging.WARNING):
        warm_worker.warm_up_worker(Settings(home=tmp_path))

    assert ran == ["store", "cuda"]
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
