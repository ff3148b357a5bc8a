"""Scores of a classifier on a labeled split, computed with scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_label: dict[str, LabelScores]
    labels: list[str]
    confusion_matrix: list[list[int]]
    """Rows are true labels, columns predicted labels, both in `labels` order."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_predictions(
    true_labels: Sequence[str], predicted_labels: Sequence[str], labels: Sequence[str]
) -> Evaluation:
    """Accuracy, macro/weighted F1, per-label scores and the confusion matrix."""
    label_list = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted_labels, labels=label_list, zero_division=0
    )
    per_label = {
        label: LabelScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, label in enumerate(label_list)
    }
    matrix = confusion_matrix(true_labels, predicted_labels, labels=label_list)
    return Evaluation(
        accuracy=float(accuracy_score(true_labels, predicted_labels)),
        macro_f1=float(
            f1_score(
                true_labels, predicted_labels, labels=label_list, average="macro", zero_division=0
            )
        ),
        weighted_f1=float(
            f1_score(
                true_labels,
                predicted_labels,
                labels=label_list,
                average="weighted",
                zero_division=0,
            )
        ),
        per_label=per_label,
        labels=label_list,
        confusion_matrix=matrix.tolist(),
    )
