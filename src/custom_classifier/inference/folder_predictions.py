"""Classify every document of a folder into a JSONL and a CSV file, resumably.

Documents are read and their text extracted by a pool of threads ahead of the model, which
classifies them in batches. Each finished batch is appended to `predictions.jsonl` and flushed,
so a run that is killed resumes where it stopped: documents already in the JSONL are skipped,
and a half-written last line is dropped. The CSV is written from the JSONL at the end, so neither
file ever holds a document twice.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from custom_classifier.corpus.extract import extract_text
from custom_classifier.errors import (
    InvalidRequestError,
    TrainingCancelledError,
    UnreadableDocumentError,
)
from custom_classifier.inference.predictor import Predictor

JSONL_NAME = "predictions.jsonl"
CSV_NAME = "predictions.csv"
CSV_COLUMNS = ("path", "label", "labels", "score", "abstained", "error", "scores")
"""`labels` (a multi-label model's labels, as a JSON list) and `scores` are JSON in the CSV."""
READ_AHEAD_THREADS = 4
MAX_UNREADABLE_LISTED = 100
"""The summary names this many unreadable documents; the JSONL and CSV have every one."""


@dataclass
class BatchProgress:
    """How far a folder classification has come."""

    done: int
    total: int
    seconds: float
    resumed: int = 0
    """Documents an earlier, interrupted run had classified: in `done`, not in the rate."""
    warm: tuple[int, float] | None = None
    """(documents, seconds) since the first batch ended: the first batch loads the model (5 s
    and more through the registry), which would make the rate, and the time left, look worse
    than they are for most of a run."""

    @property
    def per_second(self) -> float:
        if self.warm is not None and self.warm[0] > 0 and self.warm[1] > 0:
            return self.warm[0] / self.warm[1]
        return (self.done - self.resumed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.per_second
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class BatchSummary:
    """Counts per label and the documents that could not be read."""

    total: int
    classified: int
    unreadable: int
    resumed: int
    labels: dict[str, int] = field(default_factory=dict)
    unreadable_documents: list[dict[str, str]] = field(default_factory=list)
    """`{"path", "error"}` of the first `MAX_UNREADABLE_LISTED` unreadable documents."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "classified": self.classified,
            "unreadable": self.unreadable,
            "resumed": self.resumed,
            "labels": dict(self.labels),
            "unreadable_documents": list(self.unreadable_documents),
        }


ProgressCallback = Callable[[BatchProgress], None]
StopCheck = Callable[[], bool]


def list_documents(folder: Path) -> list[Path]:
    """Every regular file under `folder` (hidden files and folders left out), sorted."""
    if not folder.is_dir():
        raise InvalidRequestError(
            f"{str(folder)!r} is not a folder; give a folder of documents to classify",
            details={"folder": str(folder)},
        )
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        found.extend(
            Path(dirpath, name)
            for name in filenames
            if not name.startswith(".") and Path(dirpath, name).is_file()
        )
    return sorted(found)


def classify_folder(
    predictor: Predictor,
    model_uri: str,
    folder: Path,
    output_dir: Path,
    *,
    batch_size: int = 32,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> BatchSummary:
    """Classify the documents of `folder` not yet in `output_dir`'s JSONL; write the CSV."""
    if batch_size < 1:
        raise InvalidRequestError(f"batch_size must be at least 1, got {batch_size}")
    documents = list_documents(folder)
    output_dir.mkdir(parents=True, exist_ok=True)
    jsonl_path = output_dir / JSONL_NAME
    done = _completed_paths(jsonl_path)
    todo = [path for path in documents if _relative(path, folder) not in done]
    resumed = len(documents) - len(todo)
    started = time.monotonic()
    if on_progress is not None:
        on_progress(BatchProgress(resumed, len(documents), 0.0, resumed))
    first: tuple[int, float] | None = None
    with jsonl_path.open("a", encoding="utf-8") as jsonl:
        for count, rows in _classified_batches(predictor, model_uri, folder, todo, batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelledError("the batch prediction was cancelled")
            for row in rows:
                jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
            jsonl.flush()
            os.fsync(jsonl.fileno())
            now = time.monotonic()
            first = first or (count, now)
            if on_progress is not None:
                warm = (count - first[0], now - first[1])
                progress = BatchProgress(resumed + count, len(documents), now - started, resumed)
                on_progress(replace(progress, warm=warm))
    rows = list(read_rows(jsonl_path))
    write_csv(rows, output_dir / CSV_NAME)
    return _summary(rows, resumed)


def read_rows(jsonl_path: Path) -> Iterator[dict[str, Any]]:
    """The complete rows of a predictions JSONL file."""
    if not jsonl_path.exists():
        return
    with jsonl_path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.endswith("\n"):
                yield json.loads(line)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """One CSV line per document; `scores` as a JSON object."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            values = {key: row.get(key) for key in CSV_COLUMNS}
            values["scores"] = json.dumps(row["scores"])
            values["labels"] = json.dumps(row.get("labels", []))
            writer.writerow(values)


def _completed_paths(jsonl_path: Path) -> set[str]:
    """Paths already classified; a torn last line (a killed run) is cut off first."""
    if not jsonl_path.exists():
        return set()
    data = jsonl_path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        jsonl_path.write_bytes(complete)
    return {row["path"] for row in read_rows(jsonl_path)}


def _classified_batches(
    predictor: Predictor, model_uri: str, folder: Path, paths: list[Path], batch_size: int
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(documents done so far, rows) for each batch, texts read ahead by a thread pool."""
    done = 0
    with ThreadPoolExecutor(READ_AHEAD_THREADS, thread_name_prefix="read-ahead") as pool:
        texts = pool.map(_read_text, paths)
        for start in range(0, len(paths), batch_size):
            batch = paths[start : start + batch_size]
            read = [next(texts) for _ in batch]
            rows = _classify(predictor, model_uri, folder, batch, read)
            done += len(batch)
            yield done, rows


def _read_text(path: Path) -> str | UnreadableDocumentError:
    try:
        return extract_text(path)
    except UnreadableDocumentError as error:
        return error


def _classify(
    predictor: Predictor,
    model_uri: str,
    folder: Path,
    paths: list[Path],
    read: list[str | UnreadableDocumentError],
) -> list[dict[str, Any]]:
    texts = [text for text in read if isinstance(text, str)]
    predictions = iter(predictor.predict_texts(model_uri, texts) if texts else [])
    rows = []
    for path, text in zip(paths, read, strict=True):
        row: dict[str, Any] = {"path": _relative(path, folder)}
        if isinstance(text, str):
            prediction = next(predictions)
            row |= {
                "label": prediction.get("label"),
                "labels": prediction.get("labels", _single(prediction.get("label"))),
                "score": prediction.get("score"),
                "scores": prediction.get("scores", {}),
                "abstained": bool(prediction.get("abstained", False)),
                "error": None,
            }
            if "path" in prediction:  # a hierarchical classifier: each level's node and score
                row["label_path"] = prediction["path"]
        else:
            row |= {"label": None, "labels": [], "score": None, "scores": {}, "abstained": False}
            row["error"] = text.message
        rows.append(row)
    return rows


def _single(label: str | None) -> list[str]:
    return [] if label is None else [label]


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _labels(row: dict[str, Any]) -> list[str]:
    """Every label of a row; rows written before `labels` existed have `label` only."""
    if "labels" in row:
        return list(row["labels"])
    return _single(row["label"])


def _summary(rows: list[dict[str, Any]], resumed: int) -> BatchSummary:
    labels = Counter(label for row in rows for label in _labels(row))
    unreadable = [row for row in rows if row["error"] is not None]
    return BatchSummary(
        total=len(rows),
        classified=len(rows) - len(unreadable),
        unreadable=len(unreadable),
        resumed=resumed,
        labels=dict(sorted(labels.items())),
        unreadable_documents=[
            {"path": row["path"], "error": row["error"]}
            for row in unreadable[:MAX_UNREADABLE_LISTED]
        ],
    )
