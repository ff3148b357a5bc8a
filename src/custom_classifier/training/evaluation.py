"""Scores of a classifier on a labeled split, computed with scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LabelConfusion:
    """Multi-label: one label's yes/no decisions against the truth, over the documents."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    """Multi-label: subset accuracy (the share of documents whose label set is exactly right)."""
    macro_f1: float
    weighted_f1: float
    per_label: dict[str, LabelScores]
    labels: list[str]
    confusion_matrix: list[list[int]]
    """Rows are true labels, columns predicted labels, both in `labels` order (empty in
    multi-label mode: `label_confusion` replaces it)."""
    multi_label: bool = False
    micro_f1: float | None = None
    hamming_loss: float | None = None
    """Multi-label: the share of (document, label) decisions that are wrong."""
    label_cardinality: float | None = None
    """Multi-label: labels per document in the truth."""
    predicted_cardinality: float | None = None
    """Multi-label: labels per document in the predictions."""
    label_confusion: dict[str, LabelConfusion] | None = None

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


def evaluate_multilabel(
    true_sets: Sequence[Sequence[str]],
    predicted_sets: Sequence[Sequence[str]],
    labels: Sequence[str],
) -> Evaluation:
    """Multi-label scores: micro/macro/weighted F1, per-label precision/recall/F1, subset
    accuracy, Hamming loss, label cardinality and a per-label confusion table."""
    label_list = list(labels)
    truth, predicted = binarize(true_sets, label_list), binarize(predicted_sets, label_list)
    empty = not len(truth)
    zeros = [0.0] * len(label_list)
    precision, recall, f1, support = (
        (zeros, zeros, zeros, [0] * len(label_list))
        if empty
        else precision_recall_fscore_support(truth, predicted, zero_division=0)
    )
    per_label = {
        label: LabelScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, label in enumerate(label_list)
    }
    tables = [] if empty else multilabel_confusion_matrix(truth, predicted)

    def averaged(kind: str) -> float:
        return 0.0 if empty else float(f1_score(truth, predicted, average=kind, zero_division=0))

    return Evaluation(
        accuracy=0.0 if empty else float(accuracy_score(truth, predicted)),
        macro_f1=averaged("macro"),
        weighted_f1=averaged("weighted"),
        per_label=per_label,
        labels=label_list,
        confusion_matrix=[],
        multi_label=True,
        micro_f1=averaged("micro"),
        hamming_loss=0.0 if empty else float(hamming_loss(truth, predicted)),
        label_cardinality=float(truth.sum(axis=1).mean()) if len(truth) else 0.0,
        predicted_cardinality=float(predicted.sum(axis=1).mean()) if len(truth) else 0.0,
        label_confusion={
            label: LabelConfusion(
                true_positives=int(table[1, 1]),
                false_positives=int(table[0, 1]),
                false_negatives=int(table[1, 0]),
                true_negatives=int(table[0, 0]),
            )
            for label, table in zip(label_list, tables, strict=False)
        },
    )


def binarize(label_sets: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """One row of 0/1 per document over `labels` (names not in `labels` are ignored)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(label_sets), len(labels)), dtype=np.int64)
    for row, names in enumerate(label_sets):
        for name in names:
            if name in index:
                matrix[row, index[name]] = 1
    return matrix
