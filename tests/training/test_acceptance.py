"""`decide`: a model is registered only when its test scores reach the thresholds, and a
rejection says which score fell short and by how much."""

from __future__ import annotations

import pytest

from custom_classifier.training.acceptance import decide
from custom_classifier.training.arguments import AcceptanceCriteria
from custom_classifier.training.evaluation import Evaluation, evaluate_predictions

LABELS = ["sport", "finance"]


def scores(true: list[str], predicted: list[str]) -> Evaluation:
    return evaluate_predictions(true, predicted, LABELS)


PERFECT = scores(["sport", "finance"] * 5, ["sport", "finance"] * 5)
# finance is never predicted: sport F1 0.667, finance F1 0.0, macro-F1 0.333
ONE_LABEL_MISSED = scores(["sport", "finance"] * 5, ["sport"] * 10)


def test_perfect_scores_are_accepted_with_no_reason() -> None:
    decision = decide(PERFECT, AcceptanceCriteria())

    assert decision.accepted and decision.reasons == []


def test_a_rejection_names_the_macro_f1_and_each_label_below_its_threshold() -> None:
    decision = decide(ONE_LABEL_MISSED, AcceptanceCriteria(min_macro_f1=0.8, min_label_f1=0.5))

    assert not decision.accepted
    assert decision.reasons == [
        "macro-F1 on the test split is 0.333; at least 0.800 is required",
        "label 'finance' has F1 0.000 on the test split; at least 0.500 is required",
    ]


@pytest.mark.parametrize(
    ("criteria", "accepted"),
    [
        (AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.0), True),
        (AcceptanceCriteria(min_macro_f1=1.0, min_label_f1=1.0), True),
        (AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.1), False),
        (AcceptanceCriteria(min_macro_f1=0.4, min_label_f1=0.0), False),
    ],
)
def test_the_thresholds_are_inclusive_and_either_one_can_reject(
    criteria: AcceptanceCriteria, accepted: bool
) -> None:
    evaluation = PERFECT if criteria.min_macro_f1 == 1.0 else ONE_LABEL_MISSED

    assert decide(evaluation, criteria).accepted is accepted
