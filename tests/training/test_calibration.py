"""Temperature scaling, the calibration error and the abstain threshold."""

from __future__ import annotations

import numpy as np
import pytest

from custom_classifier.training.calibration import (
    MIN_TEMPERATURE,
    calibrate,
    expected_calibration_error,
    fit_temperature,
    mean_top_score,
    reliability,
    softmax,
    temperature_for_confidence,
    threshold_for_precision,
)


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a 3-label model right 70 % of the time yet sure of itself (about 0.99)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    predicted = np.where(rng.random(n) < 0.7, truth, (truth + 1) % 3)
    logits = rng.normal(0, 0.5, (n, 3))
    logits[np.arange(n), predicted] += 6.0
    return logits, truth


def test_temperature_scaling_lowers_the_error_of_an_overconfident_model() -> None:
    validation, validation_truth = _overconfident(400, seed=1)
    test, test_truth = _overconfident(400, seed=2)
    calibration = calibrate(validation, validation_truth, test, test_truth)
    assert calibration.temperature > 2  # it had to cool the scores down
    assert calibration.test_ece_before > 0.2
    assert calibration.test_ece_after < calibration.test_ece_before / 3
    assert calibration.validation_ece_after < calibration.validation_ece_before


def test_temperature_changes_no_prediction() -> None:
    logits, truth = _overconfident(50, seed=3)
    t = fit_temperature(logits, truth)
    assert (softmax(logits, t).argmax(axis=1) == logits.argmax(axis=1)).all()


def test_few_validation_documents_keep_temperature_one() -> None:
    logits, truth = _overconfident(6, seed=4)
    calibration = calibrate(logits, truth, logits, truth)
    assert calibration.temperature == 1.0
    assert "6 documents" in (calibration.note or "")


def test_a_validation_split_without_errors_gets_the_confidence_its_record_supports() -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 40)
    logits = rng.normal(0, 0.5, (40, 3))
    logits[np.arange(40), truth] += 3.0  # all right, at about 0.9
    calibration = calibrate(logits, truth, logits, truth)
    assert fit_temperature(logits, truth) < 0.1  # what the unguarded fit would have done
    assert 0.1 < calibration.temperature < 1.0  # sharper, but bounded
    assert mean_top_score(logits, calibration.temperature) == pytest.approx(41 / 42, abs=1e-4)
    assert calibration.validation_ece_after < calibration.validation_ece_before
    assert "every validation document right (40 of 40)" in (calibration.note or "")


def test_an_over_confident_model_without_validation_errors_is_softened() -> None:
    truth = np.arange(12) % 2
    logits = np.zeros((12, 2))
    logits[np.arange(12), truth] = 30.0  # all right, at 1.000
    calibration = calibrate(logits, truth, logits, truth)
    assert calibration.temperature > 1.0
    assert mean_top_score(logits, calibration.temperature) == pytest.approx(13 / 14, abs=1e-4)


def test_the_confidence_target_is_clamped_to_the_temperature_bounds() -> None:
    logits = np.array([[0.01, 0.0], [0.0, 0.01]])  # nearly flat: even T = 0.05 stays unsure
    assert temperature_for_confidence(logits, 0.99) == MIN_TEMPERATURE


def test_a_perfectly_calibrated_model_has_no_error() -> None:
    probabilities = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probabilities, np.array([0, 1])) == 0.0
    assert expected_calibration_error(probabilities, np.array([1, 0])) == 1.0


def test_threshold_for_precision_keeps_the_widest_coverage_that_reaches_it() -> None:
    # Scores 0.9 .. 0.55 (right, right, right, wrong, right, wrong ...)
    scores = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7])
    correct = np.array([True, True, True, False, True, False])
    probabilities = np.stack([scores, 1 - scores], axis=1)
    truth = np.where(correct, 0, 1)
    threshold = threshold_for_precision(probabilities, truth, target=0.75)
    assert threshold is not None
    assert threshold.min_score == pytest.approx(0.75)  # 4 right of the 5 kept: 0.8 >= 0.75
    assert threshold.coverage == pytest.approx(5 / 6)
    assert threshold_for_precision(probabilities[3:4], truth[3:4]) is None


def test_reliability_bins_count_every_document_and_give_the_ece() -> None:
    # Eight documents at 0.9 of which six are right, two at 0.6 both right.
    probabilities = np.array([[0.9, 0.1]] * 8 + [[0.6, 0.4]] * 2)
    truth = np.array([0] * 6 + [1] * 2 + [0] * 2)

    bins = reliability(probabilities, truth)

    assert [(b.low, b.count) for b in bins] == [(pytest.approx(0.5), 2), (pytest.approx(0.8), 8)]
    assert bins[1].confidence == pytest.approx(0.9) and bins[1].accuracy == pytest.approx(0.75)
    assert bins[0].accuracy == 1.0
    expected = 0.8 * abs(0.75 - 0.9) + 0.2 * abs(1.0 - 0.6)
    assert expected_calibration_error(probabilities, truth) == pytest.approx(expected)


def test_calibration_records_the_diagram_before_and_after_for_both_splits() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, size=200)
    logits = np.where(rng.random(200) < 0.7, truth, 1 - truth)[:, None] == np.arange(2)
    logits = logits * 8.0  # over-confident: 70 % right, scores near 1

    result = calibrate(logits, truth, logits, truth)

    for split in ("validation", "test"):
        diagram = result.reliability[split]
        assert sum(b.count for b in diagram["before"]) == sum(b.count for b in diagram["after"])
        assert diagram["before"][-1].confidence > diagram["after"][-1].confidence
    assert result.to_dict()["reliability"]["test"]["after"][0]["count"] > 0
