"""A fine-tuned classifier folder loaded for prediction, plus the long-document window logic.

This module is shipped inside the MLflow model as a code file, with `window_scorers.py` and
`classifier_folder.py`, so it imports nothing else from `custom_classifier`: inside the model
it finds those two next to it. Training imports its window helpers from here (through
`training.chunking`) so that training and prediction cut documents the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

try:
    from custom_classifier.inference.classifier_folder import (
        CLASSIFIER_FILE,
        ONNX_FILE,
        read_settings,
    )
    from custom_classifier.inference.head_window import HeadWindow
    from custom_classifier.inference.label_paths import label_path
    from custom_classifier.inference.window_scorers import (
        Backend,
        WindowScorer,
        attention_kernels,
        autocast_for,
        cpu_has_bf16_units,
        length_sorted_batches,
        make_scorer,
        pad_windows,
        window_logits,
    )
except ImportError:  # inside an MLflow model, loaded without our package: the files beside it
    from classifier_folder import CLASSIFIER_FILE, ONNX_FILE, read_settings  # type: ignore[no-redef]
    from head_window import HeadWindow  # type: ignore[no-redef]
    from label_paths import label_path  # type: ignore[no-redef]
    from window_scorers import (  # type: ignore[no-redef]
        Backend,
        WindowScorer,
        attention_kernels,
        autocast_for,
        cpu_has_bf16_units,
        length_sorted_batches,
        make_scorer,
        pad_windows,
        window_logits,
    )

__all__ = [
    "CLASSIFIER_FILE",
    "ONNX_FILE",
    "Backend",
    "TextClassifier",
    "WindowScorer",
    "attention_kernels",
    "autocast_for",
    "build_windows",
    "cpu_has_bf16_units",
    "default_device",
    "document_logits",
    "document_probabilities",
    "effective_stride",
    "int8_passed",
    "length_sorted_batches",
    "pad_id_of",
    "pad_windows",
    "sigmoid",
    "softmax",
    "window_logits",
]

_TOKENIZE_SLICE = 512  # texts tokenized per call, to bound the memory of Python token lists


def effective_stride(tokenizer: Any, max_length: int, stride: int) -> int:
    """`stride` clamped to half a window's content, so that every window moves the text forward."""
    content = max_length - tokenizer.num_special_tokens_to_add()
    return max(0, min(stride, content // 2))


def build_windows(
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    strategy: str,
    stride: int,
    max_windows: int | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Token ids of each window and the index of the document each window comes from.

    `head` gives one window per document: its first `max_length` tokens. `chunks` gives
    overlapping windows of `max_length` tokens sharing `stride` tokens, covering the whole
    document; `max_windows` keeps at most that many, evenly spread over the document.
    Every document, even an empty one, has at least one window.
    """
    if strategy not in ("head", "chunks"):
        raise ValueError(f"long_document_strategy must be 'head' or 'chunks', not {strategy!r}")
    windows: list[np.ndarray] = []
    doc_index: list[int] = []
    for start in range(0, len(texts), _TOKENIZE_SLICE):
        part = list(texts[start : start + _TOKENIZE_SLICE])
        if strategy == "head":
            ids = tokenizer(part, truncation=True, max_length=max_length)["input_ids"]
            mapping = list(range(len(part)))
        else:
            encoded = tokenizer(
                part,
                truncation=True,
                max_length=max_length,
                stride=effective_stride(tokenizer, max_length, stride),
                return_overflowing_tokens=True,
            )
            ids, mapping = encoded["input_ids"], encoded["overflow_to_sample_mapping"]
        for position in _keep_windows(mapping, max_windows):
            windows.append(np.asarray(ids[position], dtype=np.int32))
            doc_index.append(start + mapping[position])
    return windows, np.asarray(doc_index, dtype=np.int64)


def _keep_windows(mapping: Sequence[int], max_windows: int | None) -> list[int]:
    """Positions of the windows to keep: all, or `max_windows` evenly spread per document."""
    if max_windows is None:
        return list(range(len(mapping)))
    by_doc: dict[int, list[int]] = {}
    for position, doc in enumerate(mapping):
        by_doc.setdefault(doc, []).append(position)
    kept: list[int] = []
    for positions in by_doc.values():
        if len(positions) <= max_windows:
            kept.extend(positions)
        else:
            picks = np.linspace(0, len(positions) - 1, max_windows).round().astype(int)
            kept.extend(positions[i] for i in picks)
    return kept


def document_logits(logits: np.ndarray, doc_index: np.ndarray, n_documents: int) -> np.ndarray:
    """Each document's mean window logits (float64)."""
    sums = np.zeros((n_documents, logits.shape[1]), dtype=np.float64)
    np.add.at(sums, doc_index, logits)
    counts = np.bincount(doc_index, minlength=n_documents).clip(min=1)
    mean: np.ndarray = sums / counts[:, None]
    return mean


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`; rows sum to 1."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exp = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function (multi-label scores), float64, without overflow."""
    values = np.asarray(logits, dtype=np.float64)
    result: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * values))
    return result


def document_probabilities(
    logits: np.ndarray, doc_index: np.ndarray, n_documents: int, temperature: float = 1.0
) -> np.ndarray:
    """Softmax of each document's mean window logits divided by `temperature`; rows sum to 1."""
    return softmax(document_logits(logits, doc_index, n_documents), temperature)


def int8_passed(settings: dict[str, Any]) -> bool:
    """Whether the folder's int8 file may serve: not while `served` says it is still being
    checked (`pending`, after registration) or failed its check (`torch`). A folder without
    `served` had its file checked before it was written, or is a plain `fine_tune` output."""
    served = settings.get("served") or {}
    return served.get("cpu_backend", "onnx") == "onnx"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pad_id_of(tokenizer: Any) -> int:
    """The tokenizer's padding id (0 when it has none)."""
    pad_id = tokenizer.pad_token_id
    return 0 if pad_id is None else int(pad_id)


class TextClassifier:
    """A fine-tuned model, its tokenizer and its labels; `predict` returns label strings.

    Scores are calibrated: the mean window logits are divided by `temperature` (fitted on the
    validation split at training, stored in `classifier.json`) before the softmax. A best score
    below `min_score` abstains: `label` None and `abstained` true, the scores still there.

    Multi-label (`multi_label` in `classifier.json`): one sigmoid per label, no temperature; a
    label is predicted when its score reaches its threshold (tuned per label on the validation
    split at training, `thresholds`; a request may override them).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        labels: list[str],
        *,
        max_length: int,
        long_document_strategy: str = "head",
        chunk_stride: int = 0,
        device: torch.device | None = None,
        backend: Backend = "torch",
        onnx_path: Path | None = None,
        kind: str = "encoder",
        temperature: float = 1.0,
        min_score: float = 0.0,
        multi_label: bool = False,
        thresholds: dict[str, float] | None = None,
        hierarchical: bool = False,
    ) -> None:
        self.device = device or default_device()
        self.hierarchical = hierarchical
        self.multi_label = multi_label
        self.thresholds = {label: 0.5 for label in labels} | (thresholds or {})
        self.temperature = temperature
        self.min_score = min_score
        self.model = model
        self.model.to(self.device)  # type: ignore[arg-type]  # transformers types `to` oddly
        self.model.eval()
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.long_document_strategy = long_document_strategy
        self.chunk_stride = chunk_stride
        self.kind = kind
        self._head_windows: dict[int, HeadWindow | None] = {}
        self.scorer: WindowScorer = make_scorer(
            model, pad_id_of(tokenizer), self.device, backend, onnx_path=onnx_path, kind=kind
        )

    @property
    def backend(self) -> str:
        """What scores the windows: `torch`, `torch-bf16`, `onnx` or `cuda-bf16`."""
        return self.scorer.name

    @classmethod
    def load(
        cls, model_dir: str | Path, device: torch.device | None = None, backend: Backend = "auto"
    ) -> TextClassifier:
        """Load a folder written by `fine_tune`: the HF model, its tokenizer and `classifier.json`.

        `backend` `auto` predicts with the folder's int8 ONNX model on a CPU when onnxruntime is
        installed and the file has passed its check, and with PyTorch otherwise (see `Backend`).
        """
        folder = Path(model_dir)
        settings = read_settings(folder)
        onnx_path = folder / ONNX_FILE if backend == "onnx" or int8_passed(settings) else None
        return cls(
            AutoModelForSequenceClassification.from_pretrained(folder),
            AutoTokenizer.from_pretrained(folder),
            list(settings["labels"]),
            max_length=int(settings["max_length"]),
            long_document_strategy=settings.get("long_document_strategy", "head"),
            chunk_stride=int(settings.get("chunk_stride", 0)),
            device=device,
            backend=backend,
            onnx_path=onnx_path,
            kind=settings.get("kind", "encoder"),
            temperature=float(settings.get("temperature", 1.0)),
            min_score=float(settings.get("min_score", 0.0)),
            multi_label=bool(settings.get("multi_label", False)),
            thresholds=settings.get("thresholds"),
            hierarchical=bool(settings.get("hierarchical", False)),
        )

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One row of label probabilities per text, columns in `labels` order (multi-label:
        each label's own probability, rows do not sum to 1)."""
        logits = self.document_logits(texts, batch_size=batch_size)
        if self.multi_label:
            return sigmoid(logits)
        return softmax(logits, self.temperature)

    def document_logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One row of uncalibrated logits per text (the mean of its windows')."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        windows, doc_index = self.windows(texts)
        logits = self.window_logits(windows, batch_size=batch_size)
        return document_logits(logits, doc_index, len(texts))

    def windows(self, texts: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """The token windows of `texts` and the text each window comes from. A `head` window
        of a BERT-family tokenizer is read from only as much of its text as it needs."""
        head_window = self._head_window()
        if head_window is not None:
            return head_window.windows(texts), np.arange(len(texts), dtype=np.int64)
        return build_windows(
            self.tokenizer,
            texts,
            max_length=self.max_length,
            strategy=self.long_document_strategy,
            stride=self.chunk_stride,
        )

    def _head_window(self) -> HeadWindow | None:
        """The prefix tokenizer of `head` windows at the current `max_length`, if it applies."""
        if self.long_document_strategy != "head":
            return None
        if self.max_length not in self._head_windows:
            self._head_windows[self.max_length] = HeadWindow.for_tokenizer(
                self.tokenizer, self.max_length
            )
        return self._head_windows[self.max_length]

    def window_logits(self, windows: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Float32 logits of each window, from the chosen scorer."""
        return self.scorer(windows, batch_size=batch_size)

    def predict(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        min_score: float | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """For each text: the most likely `label` (None when its score is below `min_score`:
        the argument, else the one the model was trained with), its `score`, `abstained` and
        every label's calibrated probability. Multi-label: also `labels`, every label whose
        score reaches its threshold (`thresholds` overrides the tuned ones), best first;
        `label` is the first of them, `abstained` when there is none."""
        threshold = self.min_score if min_score is None else min_score
        probabilities = self.predict_proba(texts, batch_size=batch_size)
        if self.multi_label:
            return [self._labels_of(row, thresholds) for row in probabilities]
        results = []
        for row in probabilities:
            best = int(row.argmax())
            abstained = bool(row[best] < threshold)
            results.append(
                {
                    "label": None if abstained else self.labels[best],
                    "score": float(row[best]),
                    "abstained": abstained,
                    "scores": {label: float(p) for label, p in zip(self.labels, row, strict=True)},
                }
            )
        if self.hierarchical:
            return [self.with_path(result, threshold) for result in results]
        return results

    def with_path(self, result: dict[str, Any], min_score: float | None = None) -> dict[str, Any]:
        """A hierarchical classifier's answer: `path`, one `{label, score}` per level (the most
        likely node, then its most likely child; a parent's score sums its children's), and
        the label at its end as `label` and `score` (None below `min_score`)."""
        path = label_path(result["scores"])
        leaf = path[-1]
        abstained = bool(leaf["score"] < (self.min_score if min_score is None else min_score))
        label = None if abstained else leaf["label"]
        return result | {
            "label": label,
            "score": leaf["score"],
            "abstained": abstained,
            "path": path,
        }

    def _labels_of(self, row: np.ndarray, thresholds: dict[str, float] | None) -> dict[str, Any]:
        limits = self.thresholds | (thresholds or {})
        chosen = [
            label
            for label, p in sorted(zip(self.labels, row, strict=True), key=lambda lp: -lp[1])
            if p >= limits[label]
        ]
        best = int(row.argmax())
        return {
            "label": chosen[0] if chosen else None,
            "labels": chosen,
            "score": float(row[best]),
            "abstained": not chosen,
            "scores": {label: float(p) for label, p in zip(self.labels, row, strict=True)},
        }
