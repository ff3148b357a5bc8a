"""K-fold cross-validation of the winner: the same training as the final model, once per fold,
for out-of-fold predictions of the model and of the TF-IDF baseline fitted on the same fold.

Worker side (it trains). `training_run` calls it after the final model has trained, so the
budget check starts from that training's measured time, and checks again after the first fold.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from custom_classifier.corpus.models import Document, Split
from custom_classifier.training.arguments import Phase, Progress, ProgressCallback
from custom_classifier.training.cross_validation import (
    EvaluationChoice,
    Plan,
    estimated_kfold_seconds,
    fits,
    fold_splits,
    over_budget,
)

TrainFold = Callable[[Split, Path], Path]
"""Trains on a fold's `train` (early stopping on its `validation`) into a work folder and
returns the model's folder: the final model's launcher with the final model's options."""


@dataclass(frozen=True)
class OutOfFold:
    """Every train+test document once, with the labels of models that never trained on it."""

    documents: list[Document]
    predicted: list[str]
    baseline_predicted: list[str]

    @property
    def truth(self) -> list[str]:
        return [doc.label for doc in self.documents]


def cross_validate(
    plan: Plan,
    split: Split,
    labels: list[str],
    *,
    seed: int,
    train_fold: TrainFold,
    workdir: Path,
    final_train_seconds: float,
    report: ProgressCallback,
) -> tuple[EvaluationChoice, OutOfFold | None]:
    """The evaluation used, and the out-of-fold predictions when it is k-fold. Held-out when
    the plan says so, when the folds are estimated to exceed the budget, or when the first fold
    shows they would (that fold's time is in the choice's `seconds`)."""
    if plan.choice.method == "holdout" or plan.choice.folds is None:
        return plan.choice, None
    folds = plan.choice.folds
    estimate = estimated_kfold_seconds(split, folds, final_train_seconds)
    measured = f"estimated from the final model's {final_train_seconds:.0f} s of training"
    if (skipped := over_budget(plan, estimate, measured=measured)) is not None:
        return skipped, None
    started = time.perf_counter()
    documents: list[Document] = []
    predicted: list[str] = []
    baseline: list[str] = []
    for index, fold in enumerate(fold_splits(split, folds, seed)):
        spent = time.perf_counter() - started
        eta = None if index == 0 else spent / index * (folds - index)
        report(_fold_progress(index, folds, eta))
        predicted += _fold_predictions(train_fold, fold, labels, workdir / f"fold-{index + 1}")
        baseline += _baseline_predictions(fold)
        documents += fold.test
        if index == 0:
            first = time.perf_counter() - started
            measured = f"the first fold took {first:.0f} s"
            if (stopped := over_budget(plan, first * folds, measured=measured)) is not None:
                return replace(stopped, seconds=first), None
    seconds = time.perf_counter() - started
    choice = replace(fits(plan, estimate), seconds=seconds, documents=len(documents))
    return choice, OutOfFold(documents, predicted, baseline)


def _fold_progress(index: int, folds: int, eta: float | None) -> Progress:
    return Progress(
        step=index,
        total_steps=folds,
        epoch=0.0,
        phase=Phase.EVALUATING,
        eta_seconds=eta,
        extra={"fold": index + 1, "folds": folds},
    )


def _fold_predictions(
    train_fold: TrainFold, fold: Split, labels: list[str], folder: Path
) -> list[str]:
    """The fold model's label (the argmax of the exact model) for each of the fold's test
    documents; its files are removed once it has answered."""
    from custom_classifier.inference.text_classifier import TextClassifier

    try:
        model_dir = train_fold(fold, folder)
        classifier = TextClassifier.load(model_dir, backend="torch")
        logits = classifier.document_logits([doc.text for doc in fold.test])
        return [classifier.labels[i] for i in logits.argmax(axis=1)] if len(logits) else []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _baseline_predictions(fold: Split) -> list[str]:
    """The TF-IDF baseline fitted as for the held-out split (train and validation), on the fold."""
    from custom_classifier.training.baseline import baseline_predictions

    return baseline_predictions(fold.train + fold.validation, fold.test)
