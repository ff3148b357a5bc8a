"""A run that does not finish ends KILLED or FAILED with its reason, and keeps no version."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from custom_classifier.config import Settings
from custom_classifier.errors import WorkerInterrupted
from custom_classifier.registry import Registry
from custom_classifier.registry.interrupted import end_interrupted_runs
from factories import open_run

NAME = "alice.spam-filter"


def finished_version(registry: Registry) -> int:
    """A finished run registered as a version (the model files do not matter here)."""
    with registry.start_run("alice", "spam-filter") as run:
        version = registry.register(run.run_id, "alice", "spam-filter")
    return version


def versions_and_champion(registry: Registry) -> tuple[list[int], int | None]:
    client = MlflowClient(registry.tracking_uri, registry.tracking_uri)
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{NAME}'"))
    champion = client.get_registered_model(NAME).aliases.get("champion")
    return versions, None if champion is None else int(champion)


def test_an_interrupted_run_ends_killed_and_gives_back_what_it_registered(
    registry: Registry,
) -> None:
    assert finished_version(registry) == 1
    with (
        pytest.raises(WorkerInterrupted),
        registry.start_run("alice", "spam-filter") as run,
    ):
        assert registry.register(run.run_id, "alice", "spam-filter") == 2
        raise WorkerInterrupted("the server stopped")

    info = registry.find_run(run.run_id)
    assert info is not None and (info.status, info.outcome) == ("KILLED", "interrupted")
    tags = MlflowClient(registry.tracking_uri).get_run(run.run_id).data.tags
    assert tags["cc.stop_reason"] == "the server stopped"
    assert versions_and_champion(registry) == ([1], 1)


def test_a_failure_after_registration_deletes_the_version(registry: Registry) -> None:
    finished_version(registry)
    with pytest.raises(OSError), registry.start_run("alice", "spam-filter") as run:
        registry.register(run.run_id, "alice", "spam-filter")
        raise OSError("disk full")

    info = registry.find_run(run.run_id)
    assert info is not None and (info.status, info.error) == ("FAILED", "OSError: disk full")
    assert versions_and_champion(registry) == ([1], 1)


def test_champion_goes_back_where_it_was_not_to_the_newest(registry: Registry) -> None:
    finished_version(registry)
    finished_version(registry)
    registry.set_alias("alice", "spam-filter", "champion", 1)
    with pytest.raises(KeyboardInterrupt), registry.start_run("alice", "spam-filter") as run:
        registry.register(run.run_id, "alice", "spam-filter")
        raise KeyboardInterrupt

    info = registry.find_run(run.run_id)
    assert info is not None and info.status == "KILLED"
    assert versions_and_champion(registry) == ([1, 2], 1)


def test_the_runs_a_dead_worker_left_open_are_ended_killed_with_the_reason(
    registry: Registry, tmp_path: Path
) -> None:
    finished_version(registry)
    other = open_run(registry, "job-2")
    run = open_run(registry, "job-1")
    registry.register(run, "alice", "spam-filter")
    settings = Settings(home=tmp_path, mlflow_tracking_uri=registry.tracking_uri)

    ended = end_interrupted_runs(settings, "alice", "job-1", "its worker process exited")
    again = end_interrupted_runs(settings, "alice", "job-1", "a later round")

    client = MlflowClient(registry.tracking_uri)
    killed = client.get_run(run)
    assert ended == [run] and again == []
    assert killed.info.status == "KILLED" and killed.info.end_time
    assert killed.data.tags["cc.outcome"] == "interrupted"
    assert killed.data.tags["cc.stop_reason"] == "its worker process exited"
    assert versions_and_champion(registry) == ([1], 1)
    assert client.get_run(other).info.status == "RUNNING"  # another job's: left alone


def test_a_cancelled_job_s_run_says_cancelled(registry: Registry, tmp_path: Path) -> None:
    run = open_run(registry, "job-3")
    settings = Settings(home=tmp_path, mlflow_tracking_uri=registry.tracking_uri)

    end_interrupted_runs(settings, "alice", "job-3", "its worker stopped", cancelled=True)

    tags = MlflowClient(registry.tracking_uri).get_run(run).data.tags
    assert tags["cc.outcome"] == "cancelled"


def test_a_worker_killed_while_its_int8_file_was_checked_leaves_no_version(
    registry: Registry, tmp_path: Path
) -> None:
    finished_version(registry)
    run = open_run(registry, "job-4")
    registry.register(run, "alice", "spam-filter", cpu_backend="pending")  # the verdict was in
    settings = Settings(home=tmp_path, mlflow_tracking_uri=registry.tracking_uri)

    ended = end_interrupted_runs(settings, "alice", "job-4", "its worker process was killed")

    assert ended == [run]
    assert versions_and_champion(registry) == ([1], 1)  # re-queued, the job judges again
