from __future__ import annotations

import numpy as np
import pytest

from custom_classifier.training.thresholds import decide, sigmoid, tune_thresholds


def test_each_label_gets_the_threshold_of_its_best_f1() -> None:
    scores = np.asarray([[0.9, 0.2], [0.6, 0.3], [0.4, 0.8], [0.1, 0.7]])
    truth = np.asarray([[1, 0], [1, 0], [0, 1], [0, 0]])
    thresholds = tune_thresholds(scores, truth)
    # label 0: keep 0.9 and 0.6, cut half-way to 0.4; label 1: keep 0.8 only, cut towards 0.7
    assert thresholds.tolist() == pytest.approx([0.5, 0.75])
    assert decide(scores, thresholds).tolist() == truth.tolist()


def test_a_low_scoring_rare_label_gets_a_low_threshold() -> None:
    scores = np.asarray([[0.30], [0.25], [0.05], [0.02], [0.01]])
    truth = np.asarray([[1], [1], [0], [0], [0]])
    (threshold,) = tune_thresholds(scores, truth)
    assert 0.05 < threshold <= 0.25  # a 0.5 cut would never predict it


def test_a_label_the_validation_cannot_tell_keeps_one_half() -> None:
    scores = np.asarray([[0.9, 0.1], [0.2, 0.3]])
    truth = np.asarray([[0, 1], [0, 1]])  # label 0 never, label 1 always
    assert tune_thresholds(scores, truth).tolist() == [0.5, 0.5]


def test_ties_go_to_the_threshold_nearest_one_half() -> None:
    scores = np.asarray([[0.95], [0.9], [0.2], [0.1]])
    truth = np.asarray([[1], [1], [0], [0]])
    assert tune_thresholds(scores, truth).tolist() == [pytest.approx(0.55)]


def test_sigmoid_is_the_logistic_function_without_overflow() -> None:
    values = sigmoid(np.asarray([0.0, 2.0, -1000.0, 1000.0]))
    assert values.tolist() == pytest.approx([0.5, 1 / (1 + np.exp(-2.0)), 0.0, 1.0])
