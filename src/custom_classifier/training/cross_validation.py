"""Which estimate fits the data size: the held-out test split, or stratified k-fold
cross-validation over train+test when that split is too small to say much.

Torch-free: the plan, the budget arithmetic and the folds. The worker runs the folds
(`jobs.cross_validation`) with the same training loop as the final model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from custom_classifier.corpus.models import Document, Split
from custom_classifier.training.arguments import TrainingArguments

SMALL_TEST_LABEL = 30
"""A label with fewer test documents than this makes the held-out split small: at 20 test
documents a macro-F1 near 0.9 is uncertain by about +-0.1 (docs/GATE.md)."""

Method = Literal["holdout", "kfold"]


@dataclass(frozen=True)
class EvaluationChoice:
    """How the gate's estimate was made, and why (the job's `gate.evaluation`, MLflow tags)."""

    method: Method
    reason: str
    folds: int | None = None
    budget_seconds: int | None = None
    """None: no budget applied (`evaluation` `kfold` or `holdout` was asked for)."""
    estimated_seconds: float | None = None
    """What the folds were expected to add, before they ran."""
    seconds: float | None = None
    """What the folds took (also spent when the first fold stopped them)."""
    documents: int | None = None
    """Documents the estimate is measured on (out-of-fold: train+test)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def words(self) -> str:
        """`5-fold cross-validation` or `the held-out test split`."""
        return f"{self.folds}-fold cross-validation" if self.method == "kfold" else "held-out test"


@dataclass(frozen=True)
class Plan:
    """Before the final model trains: held-out (decided), or k-fold pending the budget."""

    choice: EvaluationChoice
    budget_seconds: int | None
    """For `kfold` under `auto`: the seconds the folds may add; None: no limit."""


def small_labels(test: Sequence[Document], labels: Sequence[str]) -> dict[str, int]:
    """The labels with fewer than `SMALL_TEST_LABEL` test documents, and their counts."""
    counts = Counter(doc.label for doc in test)
    return {label: counts[label] for label in labels if counts[label] < SMALL_TEST_LABEL}


def plan_evaluation(
    args: TrainingArguments, split: Split, labels: Sequence[str], default_budget: int
) -> Plan:
    """`holdout` as asked, when every label has `SMALL_TEST_LABEL` test documents, or when a
    label has too few documents for the folds; otherwise `kfold`, which `auto` still checks
    against `args.kfold_budget_seconds` (None: `default_budget`, the machine's)."""
    folds = args.folds
    if args.evaluation == "holdout":
        return Plan(EvaluationChoice("holdout", "held-out evaluation was asked for"), None)
    if args.mode == "multi":
        reason = "k-fold cross-validation is for single-label classifiers: held-out test split"
        return Plan(EvaluationChoice("holdout", reason), None)
    pooled = Counter(doc.label for doc in split.train + split.test)
    scarce = {label: pooled[label] for label in labels if pooled[label] < folds}
    if scarce:
        shown = ", ".join(f"'{label}' has {n}" for label, n in scarce.items())
        reason = (
            f"{folds}-fold cross-validation needs at least {folds} training and test documents "
            f"per label ({shown}): the held-out test split is used"
        )
        return Plan(EvaluationChoice("holdout", reason), None)
    small = small_labels(split.test, labels)
    if args.evaluation == "kfold":
        reason = f"{folds}-fold cross-validation was asked for"
        return Plan(EvaluationChoice("kfold", reason, folds=folds), None)
    if not small:
        reason = (
            f"every label has at least {SMALL_TEST_LABEL} test documents: the held-out test "
            "split is large enough"
        )
        return Plan(EvaluationChoice("holdout", reason), None)
    budget = default_budget if args.kfold_budget_seconds is None else args.kfold_budget_seconds
    shown = ", ".join(f"'{label}' has {n}" for label, n in small.items())
    reason = (
        f"the held-out test split is small ({shown} test documents; fewer than {SMALL_TEST_LABEL})"
    )
    return Plan(EvaluationChoice("kfold", reason, folds=folds, budget_seconds=budget), budget)


def estimated_kfold_seconds(split: Split, folds: int, final_train_seconds: float) -> float:
    """What `folds` trainings add, from the final model's measured time: each fold trains on
    (folds - 1) / folds of train+test instead of the training split."""
    pooled = len(split.train) + len(split.test)
    per_fold = final_train_seconds * (pooled * (folds - 1) / folds) / max(len(split.train), 1)
    return folds * per_fold


def over_budget(plan: Plan, estimated_seconds: float, *, measured: str) -> EvaluationChoice | None:
    """The held-out choice, with the reason, when `estimated_seconds` exceed the plan's budget;
    None when the folds fit (or no budget applies). `measured` says where the estimate is from."""
    if plan.budget_seconds is None or estimated_seconds <= plan.budget_seconds:
        return None
    reason = (
        f"{plan.choice.reason}, but {plan.choice.folds}-fold cross-validation would add about "
        f"{estimated_seconds:.0f} s ({measured}), more than the budget of "
        f"{plan.budget_seconds} s (kfold_budget_seconds): the held-out test split is used, "
        "with its wide interval"
    )
    return EvaluationChoice(
        "holdout",
        reason,
        folds=plan.choice.folds,
        budget_seconds=plan.budget_seconds,
        estimated_seconds=estimated_seconds,
    )


def fits(plan: Plan, estimated_seconds: float) -> EvaluationChoice:
    """The k-fold choice, with its estimate in the reason when a budget applied."""
    choice = replace(plan.choice, estimated_seconds=estimated_seconds)
    if plan.budget_seconds is None:
        return choice
    reason = (
        f"{choice.reason}, and {choice.folds}-fold cross-validation fits the budget (about "
        f"{estimated_seconds:.0f} s of {plan.budget_seconds} s)"
    )
    return replace(choice, reason=reason)


def fold_splits(split: Split, folds: int, seed: int) -> list[Split]:
    """Stratified folds over train+test: each fold's `test` is one part (every document is in
    exactly one), its `train` the rest; the validation split stays for early stopping."""
    from sklearn.model_selection import StratifiedKFold

    pooled = split.train + split.test
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    labels = [doc.label for doc in pooled]
    return [
        Split(
            train=[pooled[i] for i in train],
            validation=list(split.validation),
            test=[pooled[i] for i in test],
        )
        for train, test in splitter.split(pooled, labels)
    ]
