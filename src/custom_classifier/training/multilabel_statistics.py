"""How sure a multi-label score is, and a paired comparison of two multi-label models.

The same shapes as `statistics` (`Intervals`, `Comparison`) so the gate, the report and MLflow
read them alike; what differs is what is resampled and what "right" means:

- the bootstrap resamples test documents (each with all its labels) within strata of their
  first label, so every resample keeps the first-label counts of the test split;
- macro-F1 is the mean over labels of each label's F1 on its yes/no decisions; `accuracy` is
  the subset accuracy (a document is right when its predicted label set is exactly its set);
- McNemar's exact test runs on that exact-match correctness, so a paired comparison is
  significant only when the bootstrap interval of the macro-F1 difference excludes 0 *and*
  the two models' exact-match error rates differ (as for single-label models).

A document with three labels where one model gets two right and the other one right counts
as a tie for McNemar (both wrong): the macro-F1 bootstrap sees the difference, McNemar does
not, which makes the pair of tests conservative, never lenient.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from custom_classifier.training.evaluation import binarize
from custom_classifier.training.statistics import (
    CONFIDENCE,
    RESAMPLES,
    SEED,
    Comparison,
    Estimate,
    Intervals,
    interval_bounds,
    paired_comparison,
)


def _strata_samples(truth: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Rows of document positions drawn with replacement within each first-label stratum."""
    rng = np.random.default_rng(seed)
    first = np.where(truth.any(axis=1), truth.argmax(axis=1), -1)
    columns = [
        rng.choice(members, size=(resamples, len(members)), replace=True)
        for members in (np.flatnonzero(first == stratum) for stratum in np.unique(first))
    ]
    return np.concatenate(columns, axis=1)


def _label_f1(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Each label's F1 over the documents axis (-2); 0 where undefined (`zero_division=0`)."""
    tp = np.sum(truth & predicted, axis=-2)
    denominator = np.sum(truth, axis=-2) + np.sum(predicted, axis=-2)
    result: np.ndarray = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return result


def _exact(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.all(truth == predicted, axis=-1)
    return result


def multilabel_intervals(
    true_sets: Sequence[Sequence[str]],
    predicted_sets: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> Intervals:
    """95 % intervals of macro-F1, subset accuracy and each label's F1 over resampled documents."""
    truth = binarize(true_sets, labels).astype(bool)
    predicted = binarize(predicted_sets, labels).astype(bool)
    if len(truth) == 0:
        empty = Estimate(0.0, 0.0, 0.0)
        return Intervals(empty, empty, dict.fromkeys(labels, empty), 0, 0)
    samples = _strata_samples(truth, resamples, seed)
    sampled_f1 = _label_f1(truth[samples], predicted[samples])
    point_f1 = _label_f1(truth, predicted)
    sampled_exact = _exact(truth[samples], predicted[samples]).mean(axis=1)

    def estimate(point: float, values: np.ndarray) -> Estimate:
        return Estimate(float(point), *interval_bounds(values, confidence))

    return Intervals(
        macro_f1=estimate(point_f1.mean(), sampled_f1.mean(axis=1)),
        accuracy=estimate(_exact(truth, predicted).mean(), sampled_exact),
        label_f1={label: estimate(point_f1[i], sampled_f1[:, i]) for i, label in enumerate(labels)},
        documents=len(truth),
        resamples=resamples,
    )


def compare_multilabel(
    true_sets: Sequence[Sequence[str]],
    challenger: Sequence[Sequence[str]],
    reference: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
    alpha: float = 0.05,
) -> Comparison:
    """Paired comparison of two multi-label models on the same documents (see the module)."""
    truth = binarize(true_sets, labels).astype(bool)
    ours = binarize(challenger, labels).astype(bool)
    theirs = binarize(reference, labels).astype(bool)
    if not (len(truth) == len(ours) == len(theirs)):
        raise ValueError("the two prediction sets must be on the same documents")
    ours_f1 = float(_label_f1(truth, ours).mean()) if len(truth) else 0.0
    theirs_f1 = float(_label_f1(truth, theirs).mean()) if len(truth) else 0.0
    differences = None
    if len(truth):
        samples = _strata_samples(truth, resamples, seed)
        sampled_truth = truth[samples]
        differences = _label_f1(sampled_truth, ours[samples]).mean(axis=1) - _label_f1(
            sampled_truth, theirs[samples]
        ).mean(axis=1)
    return paired_comparison(
        _exact(truth, ours),
        _exact(truth, theirs),
        (ours_f1, theirs_f1),
        differences,
        confidence=confidence,
        alpha=alpha,
    )
