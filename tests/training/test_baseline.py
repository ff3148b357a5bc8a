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
