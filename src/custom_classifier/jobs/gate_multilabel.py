"""The acceptance gate of a multi-label training (`jobs.gate` for single-label ones).

The same steps and the same `GateReport`, with multi-label meanings:

- the served artifact (int8 ONNX or exact) is scored on the test documents (`training.served`,
  agreement on whole label sets);
- each label's decision threshold is tuned on the validation documents to maximise that
  label's F1 (`training.thresholds`) and written into `classifier.json` (`thresholds`), so
  the registered model predicts with what was judged; no temperature scaling (a temperature
  would only move the thresholds, which are tuned anyway);
- the test scores (`evaluate_multilabel`) at those thresholds meet the criteria: macro-F1 and
  every label's F1 (`AcceptanceCriteria.min_macro_f1`, `min_label_f1`);
- the baseline (one-vs-rest TF-IDF) and the champion (at its own thresholds) are compared on
  the same test documents by `training.multilabel_statistics.compare_multilabel`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from custom_classifier.jobs.gate import GateReport, SharedTest
from custom_classifier.training.acceptance import decide
from custom_classifier.training.evaluation import binarize, evaluate_multilabel
from custom_classifier.training.multilabel_statistics import (
    compare_multilabel,
    multilabel_intervals,
)
from custom_classifier.training.thresholds import decide as over_thresholds
from custom_classifier.training.thresholds import sigmoid, tune_thresholds

if TYPE_CHECKING:
    from custom_classifier.corpus.models import Split
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.training.arguments import AcceptanceCriteria

LabelSets = list[list[str]]


@dataclass(frozen=True)
class ChampionLabelSets:
    """The current champion's label sets on the challenger's test documents."""

    version: int
    predictions: LabelSets | None
    """None when it cannot be compared (other labels, or a single-label model)."""
    note: str | None = None


def judge_multilabel(
    model_dir: Path,
    split: Split,
    labels: list[str],
    criteria: AcceptanceCriteria,
    *,
    baseline_predictions: Callable[[], Sequence[Sequence[str]] | None],
    champion: ChampionLabelSets | None,
    min_score: float,
    shared: SharedTest | None = None,
    int8_pending: bool = False,
) -> GateReport:
    """Score the served artifact, tune the thresholds, compare with the baseline and the
    champion, and decide. Writes `thresholds` and `min_score` into `classifier.json`."""
    from custom_classifier.inference.classifier_folder import update_settings
    from custom_classifier.training.served import score_served_artifact

    started = time.perf_counter()
    truth = [list(doc.label_set) for doc in split.test]
    scores = score_served_artifact(
        model_dir,
        [doc.text for doc in split.test],
        truth,
        [doc.text for doc in split.validation],
        labels,
        int8_pending=int8_pending,
    )
    validation_truth = binarize([doc.label_set for doc in split.validation], labels)
    thresholds = tune_thresholds(sigmoid(scores.validation_logits), validation_truth)
    tuned = {label: float(t) for label, t in zip(labels, thresholds, strict=True)}
    update_settings(model_dir, thresholds=tuned, min_score=min_score)
    predicted = label_sets(over_thresholds(sigmoid(scores.test_logits), thresholds), labels)
    evaluation = evaluate_multilabel(truth, predicted, labels)
    baseline = None
    baseline_sets = baseline_predictions()  # only now: the baseline fits meanwhile
    if baseline_sets is not None and truth:
        baseline = compare_multilabel(truth, predicted, list(baseline_sets), labels)
    champion_comparison = None
    if champion is not None and champion.predictions is not None and truth:
        champion_comparison = compare_multilabel(truth, predicted, champion.predictions, labels)
    version = None if champion is None else champion.version
    decision = decide(
        evaluation,
        criteria,
        baseline=baseline,
        champion=champion_comparison,
        champion_version=version,
    )
    notes = [] if scores.check.note is None else [scores.check.note]
    return GateReport(
        decision=decision,
        evaluation=evaluation,
        intervals=multilabel_intervals(truth, predicted, labels),
        baseline=baseline,
        champion=champion_comparison,
        champion_version=version,
        champion_note=None if champion is None else champion.note,
        served=scores.check,
        calibration=None,
        min_score=min_score,
        seconds=time.perf_counter() - started,
        notes=notes,
        shared=shared,
        thresholds=tuned,
    )


def label_sets(decisions: np.ndarray, labels: Sequence[str]) -> LabelSets:
    """The names of each row's 1s."""
    return [[labels[int(i)] for i in np.flatnonzero(row)] for row in decisions]


def score_multilabel_champion(
    registry: Registry, owner: str | None, name: str, texts: Sequence[str], labels: Sequence[str]
) -> ChampionLabelSets | None:
    """The classifier's current champion's label sets on `texts` (at its own thresholds);
    None when it has none."""
    from custom_classifier.errors import ModelNotFoundError

    registered = registry.registered_model_name(owner, name)
    try:
        pinned = registry.resolve_alias(f"models:/{registered}@champion")
    except ModelNotFoundError:
        return None
    version = int(pinned.rpartition("/")[2])
    classifier = registry.load_text_classifier(pinned)
    if sorted(classifier.labels) != sorted(labels) or not classifier.multi_label:
        kind = "multi-label" if classifier.multi_label else "single-label"
        note = (
            f"champion version {version} is a {kind} model of the labels "
            f"{', '.join(classifier.labels)}: it cannot be compared with a multi-label model of "
            f"{', '.join(labels)} on the same documents"
        )
        return ChampionLabelSets(version, None, note)
    predictions = [list(p["labels"]) for p in classifier.predict(list(texts))] if texts else []
    return ChampionLabelSets(version, predictions)
