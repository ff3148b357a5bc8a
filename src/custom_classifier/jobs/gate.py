"""The acceptance gate of a training run: judge the artifact that will serve, with intervals,
against the TF-IDF baseline and the current champion on the same test documents, and calibrate
its scores.

Worker side (it loads models). `judge` writes the temperature and `min_score` into the model
folder (and drops an unfaithful int8 file) before the folder is logged, so the registered model
serves what was judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from custom_classifier.training.acceptance import AcceptanceDecision, decide
from custom_classifier.training.calibration import Calibration, calibrate
from custom_classifier.training.cross_validation import EvaluationChoice
from custom_classifier.training.evaluation import Evaluation, evaluate_predictions
from custom_classifier.training.statistics import (
    Comparison,
    Intervals,
    bootstrap_intervals,
    compare,
)

if TYPE_CHECKING:
    from custom_classifier.corpus.models import FrozenTest, Split
    from custom_classifier.jobs.cross_validation import OutOfFold
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.training.arguments import AcceptanceCriteria
    from custom_classifier.training.served import ServedCheck


BaselinePredictions = Callable[[], Sequence[str] | None]
"""The baseline's label for each test document, asked for only once the model is scored: the
baseline may still be fitting in its process (`training.baseline_process`) meanwhile."""


@dataclass(frozen=True)
class ChampionScores:
    """The current champion re-scored on the challenger's test documents."""

    version: int
    predictions: list[str] | None
    """None when it cannot be compared (its labels differ)."""
    note: str | None = None


@dataclass(frozen=True)
class SharedTest:
    """How many of this run's test documents were the champion's (`corpus.split`)."""

    champion_version: int
    champion_documents: int
    """The champion's test documents."""
    shared: int
    """Of this run's test documents, those that were the champion's too."""
    test_documents: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def shared_test(split: Split, frozen: FrozenTest | None) -> SharedTest | None:
    """None when the classifier has no champion whose test documents were recorded."""
    if frozen is None:
        return None
    shared = sum(doc.content_hash in frozen.documents.paths for doc in split.test)
    return SharedTest(frozen.version, len(frozen.documents.paths), shared, len(split.test))


HELD_OUT = EvaluationChoice("holdout", "the held-out test split")


@dataclass(frozen=True)
class GateReport:
    """Everything the gate measured and decided; recorded in MLflow, the job and the report."""

    decision: AcceptanceDecision
    evaluation: Evaluation
    """The estimate the decision used: the backend that serves on a CPU on the held-out test
    split, or the folds' out-of-fold predictions (`estimate`)."""
    intervals: Intervals
    baseline: Comparison | None
    champion: Comparison | None
    champion_version: int | None
    champion_note: str | None
    served: ServedCheck
    calibration: Calibration | None
    """None for a multi-label model: no temperature scaling, `thresholds` instead."""
    min_score: float
    seconds: float
    notes: list[str] = field(default_factory=list)
    shared: SharedTest | None = None
    """The test documents shared with the champion's."""
    thresholds: dict[str, float] | None = None
    """Multi-label: each label's decision threshold, tuned on the validation documents."""
    estimate: EvaluationChoice = field(default_factory=lambda: HELD_OUT)
    """Held-out or k-fold, and why."""
    holdout: Evaluation | None = None
    """With k-fold: the final (served) model on the held-out test split, beside the estimate."""

    def to_dict(self) -> dict[str, Any]:
        """The job result's `gate` (JSON-ready)."""
        return {
            "accepted": self.decision.accepted,
            "promoted": self.decision.promoted,
            "alias": self.decision.alias,
            "reasons": self.decision.reasons,
            "notes": self.decision.notes + self.notes,
            "evaluation": self.estimate.to_dict(),
            "holdout": None if self.holdout is None else _headline(self.holdout),
            "intervals": self.intervals.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "champion": None if self.champion is None else self.champion.to_dict(),
            "champion_version": self.champion_version,
            "champion_note": self.champion_note,
            "served": self.served.to_dict(),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "thresholds": self.thresholds,
            "min_score": self.min_score,
            "seconds": self.seconds,
            "shared_test": None if self.shared is None else self.shared.to_dict(),
        }

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metrics: intervals, differences, int8 check, calibration, the gate's time."""
        values = self.intervals.metrics("test")
        for prefix, comparison in (("baseline", self.baseline), ("champion", self.champion)):
            if comparison is not None:
                values |= {
                    f"{prefix}_difference": comparison.difference,
                    f"{prefix}_difference_low": comparison.low,
                    f"{prefix}_difference_high": comparison.high,
                    f"{prefix}_mcnemar_p": comparison.mcnemar_p,
                }
        if self.shared is not None:
            values["shared_test_documents"] = self.shared.shared
        if self.calibration is not None:
            values |= self.calibration.metrics()
        if self.holdout is not None:
            values |= {f"holdout_{k}": v for k, v in _headline(self.holdout).items()}
        values |= {f"threshold.{label}": t for label, t in (self.thresholds or {}).items()}
        return values | self.served.metrics() | {"time_gate_seconds": self.seconds}

    def tags(self) -> dict[str, str]:
        tags = {
            "cc.served_backend": self.served.backend,
            "cc.promoted": str(self.decision.promoted),
            "cc.evaluation": self.estimate.method,
            "cc.evaluation_reason": self.estimate.reason[:500],
        }
        if self.baseline is not None:
            tags["cc.baseline_verdict"] = self.baseline.verdict
        if self.champion is not None:
            tags["cc.champion_verdict"] = self.champion.verdict
            tags["cc.champion_version"] = str(self.champion_version)
        return tags


def _headline(evaluation: Evaluation) -> dict[str, float]:
    return {"macro_f1": evaluation.macro_f1, "accuracy": evaluation.accuracy}


def judge(
    model_dir: Path,
    split: Split,
    labels: list[str],
    criteria: AcceptanceCriteria,
    *,
    baseline_predictions: BaselinePredictions,
    champion: ChampionScores | None,
    min_score: float,
    estimate: EvaluationChoice,
    out_of_fold: OutOfFold | None = None,
    shared: SharedTest | None = None,
    int8_pending: bool = False,
) -> GateReport:
    """Score the served artifact, calibrate it, compare it with the baseline and the champion,
    and decide. Writes `temperature` and `min_score` into the folder's `classifier.json`.

    With `out_of_fold` (k-fold), the scores, their intervals and the baseline's paired test
    come from the folds' out-of-fold predictions; the champion, the int8 check and the
    calibration stay on the held-out test split, which neither model trained on.

    A folder without its int8 file yet is judged on the exact model; `int8_pending` says the
    file is made and checked after registration (`jobs.int8_backend`)."""
    from custom_classifier.inference.classifier_folder import update_settings
    from custom_classifier.training.served import score_served_artifact

    started = time.perf_counter()
    truth = [doc.label for doc in split.test]
    scores = score_served_artifact(
        model_dir,
        [doc.text for doc in split.test],
        truth,
        [doc.text for doc in split.validation],
        labels,
        int8_pending=int8_pending,
    )
    calibration = _calibrate(scores.validation_logits, scores.test_logits, split, labels)
    update_settings(model_dir, temperature=calibration.temperature, min_score=min_score)
    predicted = [labels[i] for i in scores.test_logits.argmax(axis=1)] if truth else []
    holdout = evaluate_predictions(truth, predicted, labels)
    baseline_labels = None if out_of_fold is not None else baseline_predictions()
    estimated = _Estimated.of(truth, predicted, baseline_labels, labels, out_of_fold)
    champion_comparison = None
    if champion is not None and champion.predictions is not None and truth:
        champion_comparison = compare(truth, predicted, champion.predictions, labels)
    decision = decide(
        estimated.evaluation,
        criteria,
        baseline=estimated.baseline,
        champion=champion_comparison,
        champion_version=None if champion is None else champion.version,
        measured_on=_measured_on(estimate),
    )
    notes = [] if scores.check.note is None else [scores.check.note]
    return GateReport(
        decision=decision,
        evaluation=estimated.evaluation,
        intervals=estimated.intervals,
        estimate=estimate,
        holdout=None if out_of_fold is None else holdout,
        baseline=estimated.baseline,
        champion=champion_comparison,
        champion_version=None if champion is None else champion.version,
        champion_note=None if champion is None else champion.note,
        served=scores.check,
        calibration=calibration,
        min_score=min_score,
        seconds=time.perf_counter() - started,
        notes=notes,
        shared=shared,
    )


def _calibrate(
    validation_logits: np.ndarray, test_logits: np.ndarray, split: Split, labels: list[str]
) -> Calibration:
    index = {label: i for i, label in enumerate(labels)}
    return calibrate(
        validation_logits,
        np.asarray([index[doc.label] for doc in split.validation], dtype=np.int64),
        test_logits,
        np.asarray([index[doc.label] for doc in split.test], dtype=np.int64),
    )


def _measured_on(estimate: EvaluationChoice) -> str:
    if estimate.method == "kfold":
        return f"the out-of-fold predictions of {estimate.folds}-fold cross-validation"
    return "the test split"


@dataclass(frozen=True)
class _Estimated:
    """The scores the decision uses, their intervals and the baseline's paired test."""

    evaluation: Evaluation
    intervals: Intervals
    baseline: Comparison | None

    @classmethod
    def of(
        cls,
        truth: list[str],
        predicted: list[str],
        baseline_predictions: Sequence[str] | None,
        labels: list[str],
        out_of_fold: OutOfFold | None,
    ) -> _Estimated:
        """On the held-out test documents, or on the out-of-fold ones when given."""
        if out_of_fold is not None:
            truth, predicted = out_of_fold.truth, out_of_fold.predicted
            baseline_predictions = out_of_fold.baseline_predicted
        baseline = None
        if baseline_predictions is not None and truth:
            baseline = compare(truth, predicted, list(baseline_predictions), labels)
        return cls(
            evaluate_predictions(truth, predicted, labels),
            bootstrap_intervals(truth, predicted, labels),
            baseline,
        )


def score_champion(
    registry: Registry, owner: str | None, name: str, texts: Sequence[str], labels: Sequence[str]
) -> ChampionScores | None:
    """The classifier's current champion, re-scored on `texts`; None when it has none."""
    from custom_classifier.errors import ModelNotFoundError

    registered = registry.registered_model_name(owner, name)
    try:
        pinned = registry.resolve_alias(f"models:/{registered}@champion")
    except ModelNotFoundError:
        return None
    version = int(pinned.rpartition("/")[2])
    classifier = registry.load_text_classifier(pinned)
    if sorted(classifier.labels) != sorted(labels):
        note = (
            f"champion version {version} has the labels {', '.join(classifier.labels)}, not "
            f"{', '.join(labels)}: the two cannot be compared on the same documents"
        )
        return ChampionScores(version, None, note)
    if classifier.multi_label:
        note = (
            f"champion version {version} is a multi-label model: it cannot be compared with a "
            "single-label model on the same documents"
        )
        return ChampionScores(version, None, note)
    # The argmax, not `predict`: the champion's abstentions would count as mistakes here.
    logits = classifier.document_logits(list(texts))
    predictions = [classifier.labels[i] for i in logits.argmax(axis=1)] if len(logits) else []
    return ChampionScores(version, predictions)
