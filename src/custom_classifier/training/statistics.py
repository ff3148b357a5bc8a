"""How sure a score is: bootstrap intervals, and a paired comparison of two models.

numpy only (and scipy's binomial test for McNemar), no torch. The bootstrap resamples test
documents within each true label (a stratified bootstrap), so every resample keeps the label
counts of the test split and no label's F1 is undefined for want of documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0

Verdict = Literal[
    "improvement", "no measurable change", "worse within noise", "significant regression"
]
VERDICTS: tuple[Verdict, ...] = (
    "improvement",
    "no measurable change",
    "worse within noise",
    "significant regression",
)


@dataclass(frozen=True)
class Estimate:
    """A score on the test documents and its 95 % bootstrap interval."""

    value: float
    low: float
    high: float

    def shown(self) -> str:
        return f"{self.value:.3f} (95 % interval {self.low:.3f}-{self.high:.3f})"


@dataclass(frozen=True)
class Intervals:
    """Macro-F1, accuracy and each label's F1 with their intervals."""

    macro_f1: Estimate
    accuracy: Estimate
    label_f1: dict[str, Estimate]
    documents: int
    resamples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self, prefix: str = "test") -> dict[str, float]:
        """Flat MLflow metrics: `test_macro_f1_low`, `test_f1.<label>_high`, ..."""
        named = {"macro_f1": self.macro_f1, "accuracy": self.accuracy}
        named |= {f"f1.{label}": e for label, e in self.label_f1.items()}
        flat = {}
        for name, estimate in named.items():
            flat[f"{prefix}_{name}_low"] = estimate.low
            flat[f"{prefix}_{name}_high"] = estimate.high
        return flat


@dataclass(frozen=True)
class Comparison:
    """A challenger against a reference on the same documents (difference = challenger - reference)."""

    verdict: Verdict
    difference: float
    """Macro-F1 of the challenger minus the reference's."""
    low: float
    high: float
    """The 95 % paired-bootstrap interval of `difference`."""
    challenger_macro_f1: float
    reference_macro_f1: float
    only_challenger_right: int
    only_reference_right: int
    mcnemar_p: float
    """McNemar's exact test on the documents where exactly one of the two is right."""
    documents: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def shown(self) -> str:
        """`0.092 below (95 % interval of the difference -0.200 to -0.020, McNemar p = 0.03)`."""
        size = abs(self.difference)
        side = "above" if self.difference > 0 else "below" if self.difference < 0 else "equal to"
        amount = "" if self.difference == 0 else f"{size:.3f} "
        return (
            f"{amount}{side} (95 % interval of the difference {self.low:+.3f} to {self.high:+.3f}, "
            f"McNemar p = {self.mcnemar_p:.3g}, {self.documents} documents)"
        )


def _encode(values: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    """Label indices; anything not in `labels` (an abstention) becomes -1, never a match."""
    index = {label: i for i, label in enumerate(labels)}
    return np.asarray([index.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)


def _stratified_samples(truth: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """`resamples` rows of document positions, each drawn with replacement within its label."""
    rng = np.random.default_rng(seed)
    columns = []
    for label in np.unique(truth):
        members = np.flatnonzero(truth == label)
        columns.append(rng.choice(members, size=(resamples, len(members)), replace=True))
    return np.concatenate(columns, axis=1)


def _label_f1(truth: np.ndarray, predicted: np.ndarray, n_labels: int) -> np.ndarray:
    """F1 of each label along the last axis (0 where it is undefined, as scikit-learn's
    `zero_division=0`); the shape of `truth` without its last axis, plus one for labels."""
    scores = []
    for label in range(n_labels):
        is_true, is_predicted = truth == label, predicted == label
        tp = np.sum(is_true & is_predicted, axis=-1)
        denominator = np.sum(is_true, axis=-1) + np.sum(is_predicted, axis=-1)
        scores.append(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0))
    return np.stack(scores, axis=-1)


def interval_bounds(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_intervals(
    true_labels: Sequence[str],
    predicted_labels: Sequence[str | None],
    labels: Sequence[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> Intervals:
    """95 % intervals of macro-F1, accuracy and each label's F1 over resampled test documents."""
    truth, predicted = _encode(true_labels, labels), _encode(predicted_labels, labels)
    if len(truth) == 0:
        empty = Estimate(0.0, 0.0, 0.0)
        return Intervals(empty, empty, dict.fromkeys(labels, empty), 0, 0)
    samples = _stratified_samples(truth, resamples, seed)
    sampled_truth, sampled_predicted = truth[samples], predicted[samples]
    label_f1 = _label_f1(sampled_truth, sampled_predicted, len(labels))
    point_f1 = _label_f1(truth, predicted, len(labels))

    def estimate(point: float, values: np.ndarray) -> Estimate:
        low, high = interval_bounds(values, confidence)
        return Estimate(float(point), low, high)

    return Intervals(
        macro_f1=estimate(point_f1.mean(), label_f1.mean(axis=1)),
        accuracy=estimate(
            np.mean(truth == predicted), np.mean(sampled_truth == sampled_predicted, axis=1)
        ),
        label_f1={label: estimate(point_f1[i], label_f1[:, i]) for i, label in enumerate(labels)},
        documents=len(truth),
        resamples=resamples,
    )


def mcnemar_exact(only_a_right: int, only_b_right: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs against 1/2."""
    discordant = only_a_right + only_b_right
    if discordant == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(only_a_right, discordant, 0.5).pvalue)


def compare(
    true_labels: Sequence[str],
    challenger: Sequence[str | None],
    reference: Sequence[str | None],
    labels: Sequence[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
    alpha: float = 0.05,
) -> Comparison:
    """Paired comparison of two models' predictions on the same documents.

    The difference is significant only when both paired tests say so: the bootstrap interval of
    the macro-F1 difference excludes 0 *and* McNemar's exact test rejects equal error rates at
    `alpha` (three discordant documents can move a 20-document bootstrap, not McNemar).
    """
    truth = _encode(true_labels, labels)
    ours, theirs = _encode(challenger, labels), _encode(reference, labels)
    if not (len(truth) == len(ours) == len(theirs)):
        raise ValueError("the two prediction sets must be on the same documents")
    ours_f1 = float(_label_f1(truth, ours, len(labels)).mean()) if len(truth) else 0.0
    theirs_f1 = float(_label_f1(truth, theirs, len(labels)).mean()) if len(truth) else 0.0
    differences = None
    if len(truth):
        samples = _stratified_samples(truth, resamples, seed)
        sampled_truth = truth[samples]
        differences = _label_f1(sampled_truth, ours[samples], len(labels)).mean(axis=1) - _label_f1(
            sampled_truth, theirs[samples], len(labels)
        ).mean(axis=1)
    return paired_comparison(
        ours == truth,
        theirs == truth,
        (ours_f1, theirs_f1),
        differences,
        confidence=confidence,
        alpha=alpha,
    )


def paired_comparison(
    ours_right: np.ndarray,
    theirs_right: np.ndarray,
    macro_f1: tuple[float, float],
    sampled_differences: np.ndarray | None,
    *,
    confidence: float,
    alpha: float,
) -> Comparison:
    """The verdict of two models from each document's correctness (for McNemar), their macro-F1
    (challenger, reference) and the bootstrap's macro-F1 differences (None: no documents)."""
    only_ours = int(np.sum(ours_right & ~theirs_right))
    only_theirs = int(np.sum(theirs_right & ~ours_right))
    p_value = mcnemar_exact(only_ours, only_theirs)
    difference = macro_f1[0] - macro_f1[1]
    low = high = difference
    if sampled_differences is not None:
        low, high = interval_bounds(sampled_differences, confidence)
    return Comparison(
        verdict=verdict_for(difference, low, high, significant=p_value < alpha),
        difference=difference,
        low=low,
        high=high,
        challenger_macro_f1=macro_f1[0],
        reference_macro_f1=macro_f1[1],
        only_challenger_right=only_ours,
        only_reference_right=only_theirs,
        mcnemar_p=p_value,
        documents=len(ours_right),
    )


def verdict_for(difference: float, low: float, high: float, *, significant: bool) -> Verdict:
    """One of the four words, from the difference, its interval and McNemar's answer."""
    if low > 0 and significant:
        return "improvement"
    if high < 0 and significant:
        return "significant regression"
    return "worse within noise" if difference < 0 else "no measurable change"
