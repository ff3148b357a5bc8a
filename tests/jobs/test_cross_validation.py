"""The folds train with the real training loop on a tiny model: every train+test document gets an
out-of-fold label of the model and of the baseline, or the first fold stops them over budget."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from custom_classifier.corpus.models import Split
from custom_classifier.jobs.cross_validation import cross_validate
from custom_classifier.training.arguments import Progress, TrainingArguments
from custom_classifier.training.cross_validation import Plan, plan_evaluation
from custom_classifier.training.trainer import fine_tune
from factories import make_topic_split

LABELS = ["sport", "finance"]
ARGS = TrainingArguments(
    epochs=2, max_length=32, batch_size=8, learning_rate=3e-3, warmup_ratio=0.0, export_onnx=False
)


def _run(plan: Plan, split: Split, base_model: Path, tmp_path: Path, reports: list[Progress]):  # type: ignore[no-untyped-def]
    def train_fold(fold: Split, folder: Path) -> Path:
        return fine_tune(str(base_model), fold, LABELS, ARGS, folder).model_dir

    return cross_validate(
        plan,
        split,
        LABELS,
        seed=ARGS.seed,
        train_fold=train_fold,
        workdir=tmp_path,
        final_train_seconds=0.0,
        report=reports.append,
    )


def test_k_fold_labels_every_train_and_test_document_once(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    split = make_topic_split(LABELS, train=8, validation=2, test=2)
    plan = plan_evaluation(replace(ARGS, evaluation="kfold", folds=3), split, LABELS, 0)
    reports: list[Progress] = []

    choice, out_of_fold = _run(plan, split, tiny_base_model, tmp_path, reports)

    assert choice.method == "kfold" and choice.documents == 20
    assert out_of_fold is not None
    pooled = sorted(doc.id for doc in split.train + split.test)
    assert sorted(doc.id for doc in out_of_fold.documents) == pooled
    assert len(out_of_fold.predicted) == len(out_of_fold.baseline_predicted) == 20
    assert set(out_of_fold.predicted) <= set(LABELS)
    assert [(r.step, r.extra["fold"]) for r in reports] == [(0, 1), (1, 2), (2, 3)]
    assert list(tmp_path.iterdir()) == []  # each fold's model is removed once it has answered


def test_the_first_fold_stops_folds_that_would_exceed_the_budget(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    split = make_topic_split(LABELS, train=8, validation=2, test=2)
    plan = plan_evaluation(ARGS, split, LABELS, 0)  # auto, a small test split, no seconds to add
    reports: list[Progress] = []

    choice, out_of_fold = _run(plan, split, tiny_base_model, tmp_path, reports)

    assert out_of_fold is None
    assert choice.method == "holdout"
    assert "the first fold took" in choice.reason and "budget of 0 s" in choice.reason
    assert choice.seconds is not None and choice.seconds > 0
    assert len(reports) == 1
