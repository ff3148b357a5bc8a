"""Bootstrap intervals and the paired comparison, on cases whose answer is known."""

from __future__ import annotations

import pytest

from custom_classifier.training.statistics import bootstrap_intervals, compare, mcnemar_exact

LABELS = ["ham", "spam"]


def _truth(per_label: int) -> list[str]:
    return ["ham"] * per_label + ["spam"] * per_label


def test_a_perfect_model_has_a_point_interval() -> None:
    truth = _truth(20)
    intervals = bootstrap_intervals(truth, truth, LABELS)
    assert (intervals.macro_f1.value, intervals.macro_f1.low, intervals.macro_f1.high) == (1, 1, 1)
    assert intervals.label_f1["spam"].low == 1.0
    assert intervals.documents == 40


def test_the_interval_holds_the_estimate_and_narrows_with_more_documents() -> None:
    def interval_width(per_label: int) -> float:
        truth = _truth(per_label)
        predicted = list(truth)
        for i in range(0, per_label, 5):  # one ham document in five called spam
            predicted[i] = "spam"
        intervals = bootstrap_intervals(truth, predicted, LABELS)
        assert intervals.macro_f1.low <= intervals.macro_f1.value <= intervals.macro_f1.high
        assert intervals.accuracy.value == pytest.approx(0.9)
        return intervals.macro_f1.high - intervals.macro_f1.low

    small, large = interval_width(10), interval_width(500)
    assert small > 0.1  # 20 test documents: about +-0.1
    assert large < small / 4


def test_intervals_are_seeded() -> None:
    truth = _truth(15)
    predicted = ["spam" if i % 3 else "ham" for i in range(30)]
    assert bootstrap_intervals(truth, predicted, LABELS) == bootstrap_intervals(
        truth, predicted, LABELS
    )


def test_identical_predictions_are_no_measurable_change() -> None:
    truth = _truth(20)
    predicted = ["spam" if i % 4 == 0 else t for i, t in enumerate(truth)]
    comparison = compare(truth, predicted, predicted, LABELS)
    assert comparison.verdict == "no measurable change"
    assert (comparison.difference, comparison.low, comparison.high) == (0, 0, 0)
    assert comparison.mcnemar_p == 1.0


def test_a_clearly_worse_model_is_a_significant_regression() -> None:
    truth = _truth(50)
    worse = ["spam" if i % 2 else "ham" for i in range(100)]  # right on half, by chance
    comparison = compare(truth, worse, truth, LABELS)
    assert comparison.verdict == "significant regression"
    assert comparison.high < 0
    assert comparison.difference == pytest.approx(0.5 - 1.0)
    assert comparison.mcnemar_p < 1e-6
    assert "below" in comparison.shown()


def test_a_clearly_better_model_is_an_improvement() -> None:
    truth = _truth(50)
    worse = ["spam" if i % 2 else "ham" for i in range(100)]
    assert compare(truth, truth, worse, LABELS).verdict == "improvement"


def test_a_few_documents_apart_is_within_noise() -> None:
    truth = _truth(10)
    slightly_worse = list(truth)
    slightly_worse[0] = slightly_worse[10] = "nothing"  # two abstentions: wrong, never a match
    comparison = compare(truth, slightly_worse, truth, LABELS)
    assert comparison.verdict == "worse within noise"
    assert comparison.only_reference_right == 2


def test_mcnemar_exact_p_values() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 * 0.5**6)
    assert mcnemar_exact(3, 3) == 1.0
