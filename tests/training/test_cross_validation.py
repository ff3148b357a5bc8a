"""The k-fold switch: held-out for a large test split, k-fold for a small one when the folds fit
the budget, held-out again when they would not (estimated, or shown by the first fold)."""

from __future__ import annotations

from collections import Counter

import pytest

from custom_classifier.corpus.split import split_corpus
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.cross_validation import (
    estimated_kfold_seconds,
    fits,
    fold_splits,
    over_budget,
    plan_evaluation,
)
from factories import make_topic_documents

LABELS = ["sport", "finance"]
BUDGET = 300


def _split(per_label: int, **fractions: float):  # type: ignore[no-untyped-def]
    return split_corpus(make_topic_documents(dict.fromkeys(LABELS, per_label)), **fractions)


def test_the_minimum_data_set_has_a_small_test_split_and_plans_k_fold() -> None:
    split = _split(100)  # 10 test documents per label

    plan = plan_evaluation(TrainingArguments(), split, LABELS, BUDGET)

    assert plan.choice.method == "kfold" and plan.choice.folds == 5
    assert plan.budget_seconds == BUDGET
    assert "'sport' has 10" in plan.choice.reason and "fewer than 30" in plan.choice.reason


def test_a_large_test_split_stays_held_out() -> None:
    split = _split(300)  # 30 test documents per label

    plan = plan_evaluation(TrainingArguments(), split, LABELS, BUDGET)

    assert plan.choice.method == "holdout"
    assert "at least 30 test documents" in plan.choice.reason


def test_the_sample_data_sets_size_would_be_small_so_its_options_ask_for_held_out() -> None:
    from custom_classifier.services.sample_dataset import PER_LABEL, SAMPLE_TRAINING

    split = _split(PER_LABEL)  # 200 per label: 20 test documents each
    auto = plan_evaluation(TrainingArguments(), split, LABELS, BUDGET)
    sample = TrainingArguments(**SAMPLE_TRAINING)  # type: ignore[arg-type]

    assert auto.choice.method == "kfold"
    assert plan_evaluation(sample, split, LABELS, BUDGET).choice.method == "holdout"


def test_folds_that_would_exceed_the_budget_fall_back_to_held_out_with_the_estimate() -> None:
    split = _split(100)
    plan = plan_evaluation(TrainingArguments(), split, LABELS, BUDGET)
    # 5 folds, each on 4/5 of 180 documents instead of 160: 5 * 0.9 = 4.5 final trainings.
    assert estimated_kfold_seconds(split, 5, 100.0) == pytest.approx(450.0)

    fallback = over_budget(plan, 450.0, measured="from the final model")

    assert fallback is not None and fallback.method == "holdout"
    assert "about 450 s" in fallback.reason and "budget of 300 s" in fallback.reason
    assert over_budget(plan, 90.0, measured="from the final model") is None
    assert "fits the budget (about 90 s of 300 s)" in fits(plan, 90.0).reason


def test_a_request_budget_replaces_the_machines_and_zero_never_affords_k_fold() -> None:
    split = _split(100)
    plan = plan_evaluation(TrainingArguments(kfold_budget_seconds=0), split, LABELS, BUDGET)

    assert plan.budget_seconds == 0
    assert over_budget(plan, 0.5, measured="the first fold took 0 s") is not None


def test_asked_for_methods_ignore_the_size_and_the_budget() -> None:
    small, large = _split(100), _split(300)

    kfold = plan_evaluation(TrainingArguments(evaluation="kfold", folds=3), large, LABELS, 0)
    holdout = plan_evaluation(TrainingArguments(evaluation="holdout"), small, LABELS, BUDGET)

    assert (kfold.choice.method, kfold.choice.folds, kfold.budget_seconds) == ("kfold", 3, None)
    assert over_budget(kfold, 10**6, measured="anything") is None
    assert holdout.choice.method == "holdout" and "asked for" in holdout.choice.reason


def test_too_few_documents_for_the_folds_stay_held_out() -> None:
    split = _split(5, validation_fraction=0.2, test_fraction=0.2)  # 4 train+test per label

    plan = plan_evaluation(TrainingArguments(evaluation="kfold"), split, LABELS, BUDGET)

    assert plan.choice.method == "holdout"
    assert "at least 5 training and test documents per label" in plan.choice.reason


def test_the_folds_score_every_train_and_test_document_once_stratified() -> None:
    split = _split(100)
    pooled = {doc.id for doc in split.train + split.test}

    folds = fold_splits(split, 5, seed=42)

    tested = [doc.id for fold in folds for doc in fold.test]
    assert sorted(tested) == sorted(pooled)
    for fold in folds:
        assert Counter(doc.label for doc in fold.test) == {"sport": 18, "finance": 18}
        assert not {d.id for d in fold.train} & {d.id for d in fold.test}
        assert fold.validation == split.validation
    assert fold_splits(split, 5, seed=42) == folds


def test_a_multi_label_classifier_stays_held_out() -> None:
    plan = plan_evaluation(TrainingArguments(mode="multi"), _split(100), LABELS, BUDGET)

    assert plan.choice.method == "holdout" and "single-label" in plan.choice.reason
