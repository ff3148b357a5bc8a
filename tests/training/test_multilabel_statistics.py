from __future__ import annotations

import pytest

from custom_classifier.corpus.models import Document
from custom_classifier.training.baseline import train_multilabel_baseline
from custom_classifier.training.multilabel_statistics import (
    compare_multilabel,
    multilabel_intervals,
)
from factories import make_multilabel_documents

LABELS = ["sport", "finance", "cooking"]
TRUTH = [["sport"], ["finance"], ["cooking"], ["sport", "finance"]] * 10


def test_a_model_right_everywhere_beats_one_that_misses_a_label_on_half() -> None:
    worse = [labels[:1] if i % 2 else labels for i, labels in enumerate(TRUTH)]
    worse = [["cooking"] if labels == ["finance"] else labels for labels in worse]
    comparison = compare_multilabel(TRUTH, TRUTH, worse, LABELS)
    assert comparison.verdict == "improvement"
    assert comparison.only_reference_right == 0 and comparison.only_challenger_right == 20
    assert comparison.low > 0 and comparison.mcnemar_p < 0.05
    assert compare_multilabel(TRUTH, worse, TRUTH, LABELS).verdict == "significant regression"


def test_one_document_apart_is_no_measurable_change() -> None:
    other = [["sport"]] + TRUTH[1:]
    other[3] = ["sport"]  # misses finance on one two-label document
    assert compare_multilabel(TRUTH, other, TRUTH, LABELS).verdict == "worse within noise"


def test_intervals_hold_their_point_estimates() -> None:
    predicted = [labels[:1] for labels in TRUTH]  # misses the second label of 10 documents
    intervals = multilabel_intervals(TRUTH, predicted, LABELS, resamples=200)
    assert intervals.accuracy.value == pytest.approx(0.75)
    assert intervals.macro_f1.low <= intervals.macro_f1.value <= intervals.macro_f1.high
    assert intervals.label_f1["sport"].value == 1.0
    assert intervals.documents == 40


def test_the_one_vs_rest_baseline_predicts_label_sets() -> None:
    groups = {("sport",): 12, ("finance",): 12, ("cooking",): 12, ("sport", "finance"): 12}
    train = make_multilabel_documents(groups, seed=1)
    test: list[Document] = make_multilabel_documents(groups, seed=2, prefix="test")
    evaluation = train_multilabel_baseline(train, test, LABELS)
    assert evaluation.multi_label
    assert evaluation.micro_f1 is not None and evaluation.micro_f1 > 0.8


def test_the_baseline_tunes_its_thresholds_on_validation_documents() -> None:
    groups = {("sport",): 12, ("finance",): 12, ("cooking",): 12, ("sport", "finance"): 12}
    train = make_multilabel_documents(groups, seed=1)
    validation = make_multilabel_documents(groups, seed=4, prefix="val")
    test = make_multilabel_documents(groups, seed=2, prefix="test")
    evaluation = train_multilabel_baseline(train, test, LABELS, validation)
    assert evaluation.micro_f1 is not None and evaluation.micro_f1 > 0.8
    assert evaluation.predicted_cardinality == pytest.approx(1.25, abs=0.25)
