"""The gate scores the model before it asks for the baseline's predictions, so a baseline still
fitting in its process runs beside the scoring instead of before it."""

from __future__ import annotations

import shutil
from pathlib import Path

from custom_classifier.corpus.models import Document, Split
from custom_classifier.inference.classifier_folder import read_settings
from custom_classifier.jobs.gate import judge
from custom_classifier.training.arguments import AcceptanceCriteria
from custom_classifier.training.cross_validation import EvaluationChoice
from factories import TINY_LABELS


def test_the_baseline_is_asked_for_after_the_model_is_scored_and_calibrated(
    tiny_classifier_dir: Path, tmp_path: Path
) -> None:
    model_dir = Path(shutil.copytree(tiny_classifier_dir, tmp_path / "model"))
    split = Split(train=[], validation=_documents("val"), test=_documents("test"))
    asked: list[dict[str, object]] = []

    def baseline_predictions() -> list[str]:
        asked.append(read_settings(model_dir))
        return [doc.label for doc in split.test]

    report = judge(
        model_dir,
        split,
        TINY_LABELS,
        AcceptanceCriteria(),
        baseline_predictions=baseline_predictions,
        champion=None,
        min_score=0.0,
        estimate=EvaluationChoice(method="holdout", reason="a test"),
    )

    assert len(asked) == 1
    assert "temperature" in asked[0], "the baseline was asked for before calibration"
    assert report.baseline is not None


def _documents(part: str) -> list[Document]:
    return [
        Document(id=f"{part}/{label}/{n}.txt", label=label, text=f"{label} message number {n}")
        for label in TINY_LABELS
        for n in range(3)
    ]
