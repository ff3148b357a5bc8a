"""A bake-off between base models: every candidate trains on the same split; the best on the
validation documents wins, and among those within noise of the best, the cheapest to serve.

Worker side (imports torch lazily through `training` and `inference`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custom_classifier.config import Settings
from custom_classifier.training.presets import AUTO, list_base_models

LATENCY_DOCUMENTS = 8
"""Test documents predicted one by one to measure a candidate's latency per document."""
_TRAINING_MEMORY_SHARE = 0.5
"""`auto` takes presets whose training needs at most this share of the free memory."""


@dataclass(frozen=True)
class Candidate:
    """One base model of a bake-off, trained and scored."""

    name: str
    """The base model as the user named it."""
    kind: str
    fine_tuning: str
    validation_macro_f1: float | None
    test_macro_f1: float
    train_seconds: float
    cpu_ms_per_document: float | None
    gpu_ms_per_document: float | None
    size_bytes: int
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "fine_tuning": self.fine_tuning,
            "validation_macro_f1": self.validation_macro_f1,
            "test_macro_f1": self.test_macro_f1,
            "train_seconds": self.train_seconds,
            "cpu_ms_per_document": self.cpu_ms_per_document,
            "gpu_ms_per_document": self.gpu_ms_per_document,
            "size_bytes": self.size_bytes,
            "run_id": self.run_id,
        }


def expand_candidates(
    requested: Sequence[str], settings: Settings, *, free_bytes: int | None = None
) -> list[str]:
    """The base models to train: `requested` in order, without repeats, `auto` replaced by every
    preset available offline whose training fits in the free memory."""
    names: list[str] = []
    for reference in requested:
        expanded = _auto_presets(settings, free_bytes) if reference == AUTO else [reference]
        names.extend(name for name in expanded if name not in names)
    return names


def _auto_presets(settings: Settings, free_bytes: int | None) -> list[str]:
    if free_bytes is None:
        free_bytes = _free_training_memory()
    chosen = []
    for info in list_base_models(settings):
        bytes_per_parameter = 4 if info.fine_tuning == "lora" else 16  # weights (+ Adam, grads)
        fits = info.parameters * bytes_per_parameter <= _TRAINING_MEMORY_SHARE * free_bytes
        if info.available and info.offline and fits:
            chosen.append(info.name)
    return chosen


def _free_training_memory() -> int:
    import psutil
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.mem_get_info()[0])
    return int(psutil.virtual_memory().available)


def noise_margin(macro_f1: float, documents: int) -> float:
    """How far below the best validation macro-F1 a candidate still counts as equal: one
    standard error of a proportion measured on `documents`, and at least one document's worth."""
    documents = max(documents, 1)
    spread = math.sqrt(max(macro_f1 * (1 - macro_f1), 0.0) / documents)
    return max(spread, 1 / documents)


def choose_winner(candidates: Sequence[Candidate], validation_documents: int) -> int:
    """Index of the winner: the best validation macro-F1 (test macro-F1 when there is no
    validation split); among candidates within noise of it, the fastest on a CPU, then the
    smallest."""
    scores = [_selection_score(c) for c in candidates]
    best = max(scores)
    margin = noise_margin(best, validation_documents)
    close = [i for i, score in enumerate(scores) if score >= best - margin]
    return min(close, key=lambda i: _serving_cost(candidates[i]))


def _selection_score(candidate: Candidate) -> float:
    if candidate.validation_macro_f1 is not None:
        return candidate.validation_macro_f1
    return candidate.test_macro_f1


def _serving_cost(candidate: Candidate) -> tuple[float, float, int]:
    gpu = candidate.gpu_ms_per_document
    cpu = candidate.cpu_ms_per_document
    return (
        cpu if cpu is not None else math.inf,
        gpu if gpu is not None else math.inf,
        candidate.size_bytes,
    )


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def latency_ms_per_document(model_dir: Path, texts: Sequence[str], device: str) -> float | None:
    """Mean milliseconds to classify one document at a time on `device` with the backend that
    would serve there (after one warm-up call); None without such a device."""
    import torch

    from custom_classifier.inference.text_classifier import TextClassifier

    if device == "cuda" and not torch.cuda.is_available():
        return None
    texts = list(texts)[:LATENCY_DOCUMENTS]
    if not texts:
        return None
    classifier = TextClassifier.load(model_dir, device=torch.device(device))
    classifier.predict(texts[:1])
    started = time.perf_counter()
    for text in texts:
        classifier.predict([text])
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) * 1000 / len(texts)


def report_table(candidates: Sequence[Candidate], winner: int) -> list[dict[str, Any]]:
    """The bake-off table: one row per candidate, the winner marked."""
    return [{**c.to_dict(), "winner": i == winner} for i, c in enumerate(candidates)]
