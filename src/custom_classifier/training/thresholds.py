"""Per-label decision thresholds of a multi-label classifier, tuned on the validation documents.

numpy only. A label is predicted when its sigmoid score reaches its threshold. Each label's
threshold maximises that label's F1 on the validation documents; it sits half-way between the
lowest score it keeps and the next lower score, so a test score in that gap is not decided by
a coin of rounding. Where the validation split cannot tell (no positive, or no negative
document for the label), the threshold stays at `DEFAULT_THRESHOLD`.
"""

from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 0.5


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function, float64, without overflow warnings."""
    values = np.asarray(logits, dtype=np.float64)
    result: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * values))
    return result


def tune_thresholds(probabilities: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """One threshold per column of `probabilities` (documents x labels), maximising that
    label's F1 against `truth` (0/1, same shape); ties go to the threshold nearest 0.5."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(truth) > 0
    return np.asarray(
        [_best_threshold(probabilities[:, j], truth[:, j]) for j in range(truth.shape[1])],
        dtype=np.float64,
    )


def _best_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    positives = int(positive.sum())
    if positives == 0 or positives == len(positive):
        return DEFAULT_THRESHOLD
    values = np.unique(scores)[::-1]  # distinct scores, highest first
    # Keeping every score >= values[k]: true positives and kept documents for each k.
    kept = np.searchsorted(np.sort(-scores), -values, side="right")
    order = np.argsort(-scores, kind="stable")
    true_kept = np.cumsum(positive[order])[kept - 1]
    f1 = 2 * true_kept / (positives + kept)
    lower = np.append(values[1:], 0.0)
    cuts = (values + lower) / 2
    best = np.flatnonzero(np.isclose(f1, f1.max()))
    chosen = best[np.argmin(np.abs(cuts[best] - DEFAULT_THRESHOLD))]
    return float(cuts[chosen])


def decide(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """0/1 decisions: each label's score against its threshold."""
    return (np.asarray(probabilities) >= np.asarray(thresholds)[None, :]).astype(np.int64)
