from __future__ import annotations

import os
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

    with BaselineProcess(split.train, split.test, labels) as background:
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
        BaselineProcess(one_label, split.test, ["sport", "finance"]) as background,
    ):
        background.result()
    assert "Traceback" not in str(raised.value)


def test_the_baseline_process_runs_its_blas_on_one_thread(monkeypatch: MonkeyPatch) -> None:
    """Its L-BFGS steps are small vector operations: threads cost more than they give."""
    from custom_classifier.training import baseline_process

    started: dict[str, Any] = {}

    class _Started:
        def __init__(self, command: list[str], **options: Any) -> None:
            started.update(options)

        def poll(self) -> int:
            return 0

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(baseline_process.subprocess, "Popen", _Started)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "16")
    split = make_topic_split(["sport", "finance"], train=2, test=1)

    with baseline_process.BaselineProcess(split.train, split.test, ["sport", "finance"]):
        pass

    environment = started["env"]
    assert environment["OPENBLAS_NUM_THREADS"] == environment["OMP_NUM_THREADS"] == "1"
    assert environment["PATH"] == os.environ["PATH"]
