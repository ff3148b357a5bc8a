"""Classifying a folder: every document once, unreadable ones reported, resumable after a stop."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from custom_classifier.errors import InvalidRequestError, TrainingCancelledError
from custom_classifier.inference.folder_predictions import (
    CSV_NAME,
    JSONL_NAME,
    BatchProgress,
    classify_folder,
    list_documents,
    read_rows,
)
from custom_classifier.inference.predictor import Predictor
from custom_classifier.registry import Registry
from factories import log_classifier_run


@pytest.fixture
def model_uri(registry: Registry, tiny_classifier_dir: Path) -> str:
    return f"runs:/{log_classifier_run(registry, tiny_classifier_dir)}/model"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    for index in range(23):
        sub = root / ("a" if index % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc_{index:03d}.txt").write_text(f"message number {index} win cash now")
    (root / "empty.txt").write_text("")
    (root / ".hidden").write_text("not a document")
    return root


def _paths(rows: list[dict[str, object]]) -> list[object]:
    return [row["path"] for row in rows]


def test_every_document_is_classified_once_and_unreadable_ones_are_reported(
    registry: Registry, model_uri: str, folder: Path, tmp_path: Path
) -> None:
    seen: list[BatchProgress] = []
    summary = classify_folder(
        Predictor(registry), model_uri, folder, tmp_path / "out", batch_size=5,
        on_progress=seen.append,
    )  # fmt: skip
    rows = list(read_rows(tmp_path / "out" / JSONL_NAME))
    assert sorted(_paths(rows)) == sorted(
        path.relative_to(folder).as_posix() for path in list_documents(folder)
    )
    assert len(rows) == 24 and summary.total == 24
    assert summary.unreadable == 1 and summary.classified == 23
    assert sum(summary.labels.values()) == 23
    empty = next(row for row in rows if row["path"] == "empty.txt")
    assert empty["label"] is None and "empty" in empty["error"]
    assert seen[-1].done == seen[-1].total == 24
    assert [progress.done for progress in seen] == sorted(progress.done for progress in seen)


def test_the_csv_matches_one_by_one_predictions(
    registry: Registry, model_uri: str, folder: Path, tmp_path: Path
) -> None:
    predictor = Predictor(registry)
    classify_folder(predictor, model_uri, folder, tmp_path / "out", batch_size=4)
    with (tmp_path / "out" / CSV_NAME).open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 24
    for line in lines:
        if line["error"]:
            continue
        alone = predictor.predict_texts(model_uri, [(folder / line["path"]).read_text()])[0]
        assert line["label"] == alone["label"]
        assert float(line["score"]) == pytest.approx(alone["score"], abs=1e-5)
        assert json.loads(line["scores"]).keys() == alone["scores"].keys()


def test_a_stopped_run_resumes_without_duplicates_or_losses(
    registry: Registry, model_uri: str, folder: Path, tmp_path: Path
) -> None:
    predictor, out = Predictor(registry), tmp_path / "out"
    batches = iter(range(100))
    with pytest.raises(TrainingCancelledError):
        classify_folder(
            predictor, model_uri, folder, out, batch_size=5,
            should_stop=lambda: next(batches) >= 2,
        )  # fmt: skip
    first = list(read_rows(out / JSONL_NAME))
    assert len(first) == 10
    with (out / JSONL_NAME).open("a", encoding="utf-8") as torn:  # a kill mid-write
        torn.write('{"path": "b/doc_')
    summary = classify_folder(predictor, model_uri, folder, out, batch_size=5)
    rows = list(read_rows(out / JSONL_NAME))
    assert summary.resumed == 10 and summary.total == 24
    assert len(_paths(rows)) == len(set(_paths(rows))) == 24
    assert rows[:10] == first


def test_a_missing_folder_is_an_invalid_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="not a folder"):
        list_documents(tmp_path / "nope")


def test_the_rate_leaves_out_the_first_batch_which_loads_the_model() -> None:
    loading = BatchProgress(done=132, total=1032, seconds=10.0, resumed=100, warm=(0, 0.0))
    warm = BatchProgress(done=196, total=1032, seconds=12.0, resumed=100, warm=(64, 2.0))

    assert loading.per_second == pytest.approx(3.2)  # 32 documents in 10 s, the load included
    assert warm.per_second == pytest.approx(32.0)
    assert warm.seconds_left == pytest.approx((1032 - 196) / 32.0)
