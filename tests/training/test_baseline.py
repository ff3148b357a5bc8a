from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pytest import MonkeyPatch

from custom_classifier.training.baseline import train_baseline
from custom_classifier.training.evaluation import Evaluation
from factories import make_topic_split


def test_baseline_separates_distinct_topics() -> None:
    labels = ["sport", "finance", "cooking"]
    split = make_topic_split(labels, train=10, test=5)

    evaluation = train_baseline(split.train, split.test, labels)

    assert isinstance(evaluation, Evaluation)
    assert evaluation.labels == labels
    assert evaluation.macro_f1 > 0.9
    assert sum(scores.support for scores in evaluation.per_label.values()) == 15


def test_the_baseline_process_gives_the_in_process_result() -> None:
    from custom_classifier.training.baseline_process import BaselineProcess

    labels = ["sport", "finance", "cooking"]
    split = make_topic_split(labels, train=10, test=5)

    with BaselineProcess() as background:
        background.fit(split.train, split.test, labels)
        evaluation = background.result()

    assert evaluation == train_baseline(split.train, split.test, labels)


def test_a_failing_baseline_process_says_why() -> None:
    import pytest

    from custom_classifier.errors import TrainingError
    from custom_classifier.training.baseline_process import BaselineProcess

    split = make_topic_split(["sport", "finance"], train=5, test=2)
    one_label = [d for d in split.train if d.label == "sport"]

    with (
        pytest.raises(TrainingError, match="baseline failed.*only one class") as raised,
        BaselineProcess() as background,
    ):
        background.fit(one_label, split.test, ["sport", "finance"])
        background.result()
    assert "Traceback" not in str(raised.value)


def test_the_baseline_process_runs_its_blas_on_one_thread(monkeypatch: MonkeyPatch) -> None:
    """Its L-BFGS steps are small vector operations: threads cost more than they give."""
    from custom_classifier.training import baseline_process

    started: dict[str, Any] = {}

    class _Started:
        stdin = None

        def __init__(self, command: list[str], **options: Any) -> None:
            started.update(options)

        def poll(self) -> int:
            return 0

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(baseline_process.subprocess, "Popen", _Started)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "16")

    with baseline_process.BaselineProcess():
        pass

    environment = started["env"]
    assert environment["OPENBLAS_NUM_THREADS"] == environment["OMP_NUM_THREADS"] == "1"
    assert environment["PATH"] == os.environ["PATH"]


def test_a_baseline_child_given_no_documents_ends_without_fitting(tmp_path: Path) -> None:
    """As when a job's folder is invalid: the child was started before the folder was read."""
    inputs, output = tmp_path / "inputs.pkl", tmp_path / "evaluation.pkl"
    command = [sys.executable, "-m", "custom_classifier.training.baseline_process"]
    ended = subprocess.run(
        [*command, str(inputs), str(output)], stdin=subprocess.DEVNULL, timeout=300
    )
    assert ended.returncode == 0 and not output.exists()


def test_the_baseline_process_predictions_when_fitted_wait_for_the_child() -> None:
    from custom_classifier.training.baseline import baseline_predictions
    from custom_classifier.training.baseline_process import BaselineProcess

    labels = ["sport", "finance"]
    split = make_topic_split(labels, train=10, test=5)

    with BaselineProcess() as background:
        background.fit(split.train, split.test, labels)
        predicted = background.predictions_when_fitted()
        evaluation = background.result()  # once ended, the same answer again

    assert predicted == baseline_predictions(split.train, split.test)
    assert evaluation == train_baseline(split.train, split.test, labels)
