from __future__ import annotations

import pytest

from custom_classifier.training.evaluation import evaluate_multilabel

LABELS = ["sport", "finance", "cooking"]


def test_multi_label_scores_match_their_definitions() -> None:
    truth = [["sport"], ["sport", "finance"], ["cooking"], ["finance"]]
    predicted = [["sport"], ["sport"], ["cooking", "finance"], []]
    evaluation = evaluate_multilabel(truth, predicted, LABELS)
    assert evaluation.multi_label and evaluation.confusion_matrix == []
    assert evaluation.accuracy == 0.25  # only the first document exactly right
    assert evaluation.hamming_loss == pytest.approx(3 / 12)  # 3 wrong decisions of 12
    assert evaluation.label_cardinality == 1.25
    assert evaluation.predicted_cardinality == 1.0
    # sport: tp 2; finance: tp 0, fp 1, fn 2; cooking: tp 1
    assert evaluation.per_label["finance"].f1 == 0.0
    assert evaluation.per_label["sport"].f1 == 1.0
    assert evaluation.macro_f1 == pytest.approx(2 / 3)
    assert evaluation.micro_f1 == pytest.approx(2 * 3 / (5 + 4))
    finance = evaluation.label_confusion["finance"]  # type: ignore[index]
    assert (finance.true_positives, finance.false_positives) == (0, 1)
    assert (finance.false_negatives, finance.true_negatives) == (2, 1)


def test_no_documents_give_zero_scores() -> None:
    evaluation = evaluate_multilabel([], [], LABELS)
    assert (evaluation.macro_f1, evaluation.accuracy, evaluation.hamming_loss) == (0, 0, 0)
