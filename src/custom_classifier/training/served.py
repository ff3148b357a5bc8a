"""The served artifact is what is judged: the int8 ONNX file that serves on a CPU, scored on the
test documents beside the exact model.

Int8 quantization can break a small classifier (it collapsed MiniLM models in onnxruntime
issue 9599), so the int8 file is kept only when it loses at most `MAX_INT8_LOSS` macro-F1 and
gives the exact model's label on at least `MIN_INT8_AGREEMENT` of the test documents. Otherwise
the file is removed, so every loader serves the exact backend, and `classifier.json` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from custom_classifier.inference.classifier_folder import ONNX_FILE, update_settings
from custom_classifier.inference.text_classifier import TextClassifier
from custom_classifier.inference.window_scorers import onnx_runtime_available
from custom_classifier.training.evaluation import evaluate_multilabel, evaluate_predictions
from custom_classifier.training.thresholds import DEFAULT_THRESHOLD, sigmoid

MAX_INT8_LOSS = 0.01
"""One macro-F1 point."""
MIN_INT8_AGREEMENT = 0.99


@dataclass(frozen=True)
class ServedCheck:
    """What serves on a CPU and how it compares with the exact model on the test documents."""

    backend: str
    """`onnx` (the int8 file) or the exact backend (`torch`, or `cuda-bf16`/`torch-bf16`)."""
    exact_backend: str
    exact_macro_f1: float
    int8_macro_f1: float | None
    """None when there is no int8 file (export off, onnxruntime missing, a decoder's dropped)."""
    agreement: float | None
    """Share of test documents where int8 and the exact model give the same label."""
    reason: str | None
    """Why the int8 file does not serve, in words."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        values = {"exact_test_macro_f1": self.exact_macro_f1}
        if self.int8_macro_f1 is not None:
            values["int8_test_macro_f1"] = self.int8_macro_f1
        if self.agreement is not None:
            values["int8_label_agreement"] = self.agreement
        return values


@dataclass(frozen=True)
class ServedScores:
    """The check, and the served backend's document logits (uncalibrated) on both splits."""

    check: ServedCheck
    test_logits: np.ndarray
    validation_logits: np.ndarray


def score_served_artifact(
    model_dir: Path,
    test_texts: Sequence[str],
    test_truth: Sequence[str] | Sequence[Sequence[str]],
    validation_texts: Sequence[str],
    labels: Sequence[str],
) -> ServedScores:
    """Score the exact model and the int8 file on the test documents; drop the int8 file when it
    is not faithful (see the module); score the validation documents with what serves.

    A multi-label model (`test_truth` then holds label sets) is compared on its yes/no
    decisions at the default threshold: macro-F1 over labels, and agreement is the share of
    documents whose whole label set is the same."""
    exact = TextClassifier.load(model_dir, backend="torch")
    exact_test = exact.document_logits(test_texts)
    exact_f1 = _macro_f1(exact_test, test_truth, labels, exact.multi_label)
    onnx_file = Path(model_dir) / ONNX_FILE
    if not onnx_file.is_file() or not onnx_runtime_available():
        served = ServedCheck(exact.backend, exact.backend, exact_f1, None, None, "no int8 file")
        return ServedScores(served, exact_test, exact.document_logits(validation_texts))
    int8 = TextClassifier.load(model_dir, device=torch.device("cpu"), backend="onnx")
    int8_test = int8.document_logits(test_texts)
    int8_f1 = _macro_f1(int8_test, test_truth, labels, exact.multi_label)
    agreement = float(
        np.mean(
            _decisions(int8_test, exact.multi_label) == _decisions(exact_test, exact.multi_label)
        )
    )
    if len(test_texts) == 0:
        agreement = 1.0
    reason = _unfaithful(exact_f1, int8_f1, agreement)
    if reason is None:
        check = ServedCheck("onnx", exact.backend, exact_f1, int8_f1, agreement, None)
        return ServedScores(check, int8_test, int8.document_logits(validation_texts))
    onnx_file.unlink()
    update_settings(model_dir, served={"cpu_backend": "torch", "reason": reason})
    check = ServedCheck(exact.backend, exact.backend, exact_f1, int8_f1, agreement, reason)
    return ServedScores(check, exact_test, exact.document_logits(validation_texts))


def _decisions(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Each document's label index, or (multi-label) a string of its yes/no decisions."""
    if not multi_label:
        result: np.ndarray = logits.argmax(axis=1)
        return result
    yes = sigmoid(logits) >= DEFAULT_THRESHOLD
    return np.asarray(["".join("1" if v else "0" for v in row) for row in yes])


def _macro_f1(
    logits: np.ndarray,
    truth: Sequence[str] | Sequence[Sequence[str]],
    labels: Sequence[str],
    multi_label: bool,
) -> float:
    if multi_label:
        yes = sigmoid(logits) >= DEFAULT_THRESHOLD
        predicted = [[labels[int(i)] for i in np.flatnonzero(row)] for row in yes]
        return evaluate_multilabel(list(truth), predicted, labels).macro_f1  # type: ignore[arg-type]
    chosen = [labels[i] for i in logits.argmax(axis=1)] if len(logits) else []
    return evaluate_predictions(list(truth), chosen, labels).macro_f1  # type: ignore[arg-type]


def _unfaithful(exact_f1: float, int8_f1: float, agreement: float) -> str | None:
    loss = exact_f1 - int8_f1
    if loss > MAX_INT8_LOSS:
        return (
            f"the int8 ONNX file scored macro-F1 {int8_f1:.3f} on the test documents, "
            f"{loss:.3f} below the exact model's {exact_f1:.3f} (at most {MAX_INT8_LOSS:.2f} "
            "may be lost): the exact model serves on CPUs"
        )
    if agreement < MIN_INT8_AGREEMENT:
        return (
            f"the int8 ONNX file gave the exact model's label on {100 * agreement:.1f} % of the "
            f"test documents (at least {100 * MIN_INT8_AGREEMENT:.0f} % is required): the exact "
            "model serves on CPUs"
        )
    return None
