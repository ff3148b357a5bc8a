"""Calibrated scores: temperature scaling, the expected calibration error, and an abstain
threshold for a target precision. numpy and scipy only.

Temperature scaling (Guo et al., 2017) divides the logits by one scalar fitted to minimise the
negative log-likelihood of the validation labels: it changes no prediction, only how sure each
one claims to be.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
"""Bounds of the fit: a validation split the model gets all right pushes the temperature down
without end (more confidence always lowers that likelihood)."""
MIN_VALIDATION_DOCUMENTS = 10
"""Fewer validation documents keep temperature 1: one scalar fitted on a handful of documents
says more about them than about the model."""
BINS = 10
TARGET_PRECISION = 0.95


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exp = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def negative_log_likelihood(logits: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(truth)), truth]))


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the NLL of `truth` (label indices), searched on its log."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, truth, float(np.exp(log_t))),
        bounds=(np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)),
        method="bounded",
    )
    return float(np.exp(result.x))


def expected_calibration_error(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = BINS
) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by their size."""
    if len(truth) == 0:
        return 0.0
    total = len(truth)
    return float(
        sum(
            b.count / total * abs(b.accuracy - b.confidence)
            for b in reliability(probabilities, truth, bins)
        )
    )


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin of a reliability diagram: how sure the predictions in it claimed to
    be (mean top score) and how often they were right."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


def reliability(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = BINS
) -> list[ReliabilityBin]:
    """The non-empty equal-width bins of the top score, lowest first."""
    if len(truth) == 0:
        return []
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    return [
        ReliabilityBin(
            low=float(edges[b]),
            high=float(edges[b + 1]),
            count=int((which == b).sum()),
            confidence=float(confidence[which == b].mean()),
            accuracy=float(correct[which == b].mean()),
        )
        for b in range(bins)
        if (which == b).any()
    ]


@dataclass(frozen=True)
class Threshold:
    """A `min_score` and what it would give on the documents it was chosen on."""

    min_score: float
    precision: float
    """Precision of the predictions kept (score >= min_score)."""
    coverage: float
    """Share of documents that would get a label."""
    target_precision: float


def threshold_for_precision(
    probabilities: np.ndarray, truth: np.ndarray, target: float = TARGET_PRECISION
) -> Threshold | None:
    """The lowest `min_score` whose kept predictions reach `target` precision (the widest
    coverage that does); None when no threshold reaches it or there are no documents."""
    if len(truth) == 0:
        return None
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    order = np.argsort(-confidence, kind="stable")
    kept_correct = np.cumsum(correct[order])
    kept = np.arange(1, len(order) + 1)
    precision = kept_correct / kept
    # Only cut between different scores: documents with equal scores are kept or dropped together.
    cut = np.append(confidence[order][1:] < confidence[order][:-1], True)
    good = np.flatnonzero(cut & (precision >= target))
    if not len(good):
        return None
    last = int(good.max())
    return Threshold(
        min_score=float(confidence[order][last]),
        precision=float(precision[last]),
        coverage=float(kept[last] / len(order)),
        target_precision=target,
    )


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature, the calibration errors before and after, and a suggested
    `min_score`; recorded in MLflow and shown in the report."""

    temperature: float
    validation_documents: int
    validation_ece_before: float
    validation_ece_after: float
    test_ece_before: float
    test_ece_after: float
    suggested: Threshold | None
    """From the calibrated validation scores, for `TARGET_PRECISION`."""
    note: str | None = None
    """Why the temperature stayed 1, when it did."""
    reliability: dict[str, dict[str, list[ReliabilityBin]]] = field(default_factory=dict)
    """The reliability diagram's bins: split (`validation`, `test`) -> `before` / `after`."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        values = {
            "temperature": self.temperature,
            "validation_ece_before": self.validation_ece_before,
            "validation_ece_after": self.validation_ece_after,
            "test_ece_before": self.test_ece_before,
            "test_ece_after": self.test_ece_after,
        }
        if self.suggested is not None:
            values["suggested_min_score"] = self.suggested.min_score
            values["suggested_min_score_coverage"] = self.suggested.coverage
        return values


def mean_top_score(logits: np.ndarray, temperature: float) -> float:
    return float(softmax(logits, temperature).max(axis=1).mean())


def temperature_for_confidence(logits: np.ndarray, target: float) -> float:
    """The temperature (within the bounds) at which the mean top score is `target`: that mean
    falls as the temperature rises, so a bisection on its log finds it."""
    from scipy.optimize import brentq

    low, high = np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)

    def gap(log_t: float) -> float:
        return mean_top_score(logits, float(np.exp(log_t))) - target

    if gap(low) <= 0:
        return MIN_TEMPERATURE
    if gap(high) >= 0:
        return MAX_TEMPERATURE
    return float(np.exp(brentq(gap, low, high, xtol=1e-6)))


def _temperature_for(logits: np.ndarray, truth: np.ndarray) -> tuple[float, str | None]:
    """The fitted temperature; where the validation split cannot tell, 1 or the temperature
    that matches its smoothed accuracy, with the reason."""
    count = len(truth)
    if count < MIN_VALIDATION_DOCUMENTS:
        return 1.0, (
            f"temperature kept at 1: the validation split has {count} "
            f"documents, fewer than the {MIN_VALIDATION_DOCUMENTS} a fit needs"
        )
    if (np.asarray(logits).argmax(axis=1) == truth).all():
        # The likelihood fit would sharpen without limit; Laplace's rule of succession says
        # how often a model that got n of n right should be expected to be right.
        expected = (count + 1) / (count + 2)
        temperature = temperature_for_confidence(logits, expected)
        return temperature, (
            f"every validation document right ({count} of {count}): the likelihood fit would "
            f"sharpen the scores without limit, so the temperature makes the mean top score "
            f"{expected:.3f}, the accuracy the rule of succession expects after {count} of "
            f"{count} (it was {mean_top_score(logits, 1.0):.3f})"
        )
    return fit_temperature(logits, truth), None


def calibrate(
    validation_logits: np.ndarray,
    validation_truth: np.ndarray,
    test_logits: np.ndarray,
    test_truth: np.ndarray,
) -> Calibration:
    """Fit the temperature on the validation documents; measure the ECE on both splits."""
    temperature, note = _temperature_for(validation_logits, validation_truth)

    def ece(logits: np.ndarray, truth: np.ndarray, t: float) -> float:
        return expected_calibration_error(softmax(logits, t), truth) if len(truth) else 0.0

    def diagram(logits: np.ndarray, truth: np.ndarray) -> dict[str, list[ReliabilityBin]]:
        return {
            "before": reliability(softmax(logits, 1.0), truth) if len(truth) else [],
            "after": reliability(softmax(logits, temperature), truth) if len(truth) else [],
        }

    suggested = None
    if len(validation_truth):
        suggested = threshold_for_precision(
            softmax(validation_logits, temperature), validation_truth
        )
    return Calibration(
        temperature=temperature,
        validation_documents=len(validation_truth),
        validation_ece_before=ece(validation_logits, validation_truth, 1.0),
        validation_ece_after=ece(validation_logits, validation_truth, temperature),
        test_ece_before=ece(test_logits, test_truth, 1.0),
        test_ece_after=ece(test_logits, test_truth, temperature),
        suggested=suggested,
        note=note,
        reliability={
            "validation": diagram(validation_logits, validation_truth),
            "test": diagram(test_logits, test_truth),
        },
    )
