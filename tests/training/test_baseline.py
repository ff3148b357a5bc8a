from __future__ import annotations

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
