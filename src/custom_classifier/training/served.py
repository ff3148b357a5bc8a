"""The served artifact is what is judged: the int8 ONNX file that serves on a CPU, scored on the
test documents beside the exact model.

Int8 quantization can break a small classifier (it collapsed MiniLM models in onnxruntime
issue 9599), so the int8 file is kept only when it loses at most `MAX_INT8_LOSS` macro-F1 and
gives the exact model's label on at least `MIN_INT8_AGREEMENT` of the test documents. Otherwise
the file is removed, so every loader serves the exact backend, and `classifier.json` says why.

A training job judges the exact model (`score_served_artifact` with `int8_pending`), registers
it, and only then makes the int8 file and checks it here (`check_int8_file`): the int8 export
takes seconds the verdict need not wait for. Until the check passes, `classifier.json` says
`served: {"cpu_backend": "pending"}` and every loader serves the exact backend.
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
NO_INT8_FILE = "no int8 file"
INT8_PENDING = (
    "the int8 ONNX file is made and checked against the exact model after registration; "
    "the exact model serves on CPUs until it passes"
)


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

    @property
    def note(self) -> str | None:
        """The reason when it is a finding (an unfaithful or missing int8 file), for the gate's
        notes; None while the file is absent by choice or not checked yet."""
        return None if self.reason in (None, NO_INT8_FILE, INT8_PENDING) else self.reason

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
    *,
    int8_pending: bool = False,
) -> ServedScores:
    """Score the exact model and the int8 file on the test documents; drop the int8 file when it
    is not faithful (see the module); score the validation documents with what serves.

    Without an int8 file the exact model serves; `int8_pending` says that the file will be made
    and checked after registration (`check_int8_file`), in the check's `reason`.

    A multi-label model (`test_truth` then holds label sets) is compared on its yes/no
    decisions at the default threshold: macro-F1 over labels, and agreement is the share of
    documents whose whole label set is the same."""
    exact = TextClassifier.load(model_dir, backend="torch")
    exact_test = exact.document_logits(test_texts)
    onnx_file = Path(model_dir) / ONNX_FILE
    if not onnx_file.is_file() or not onnx_runtime_available():
        exact_f1 = _macro_f1(exact_test, test_truth, labels, exact.multi_label)
        reason = INT8_PENDING if int8_pending else NO_INT8_FILE
        served = ServedCheck(exact.backend, exact.backend, exact_f1, None, None, reason)
        return ServedScores(served, exact_test, exact.document_logits(validation_texts))
    int8 = TextClassifier.load(model_dir, device=torch.device("cpu"), backend="onnx")
    check, int8_test = _compare(model_dir, exact, exact_test, int8, test_texts, test_truth, labels)
    if check.backend == "onnx":
        return ServedScores(check, int8_test, int8.document_logits(validation_texts))
    return ServedScores(check, exact_test, exact.document_logits(validation_texts))


def check_int8_file(
    model_dir: Path,
    test_texts: Sequence[str],
    test_truth: Sequence[str] | Sequence[Sequence[str]],
    labels: Sequence[str],
) -> ServedCheck:
    """The int8 file made after registration, judged as `score_served_artifact` judges it: on
    the test documents beside the exact model. A faithful file is marked as serving
    (`served: {"cpu_backend": "onnx"}`); an unfaithful one is removed and `classifier.json`
    says why; without a file (the export failed) the exact model serves."""
    exact = TextClassifier.load(model_dir, backend="torch")
    exact_test = exact.document_logits(test_texts)
    if not (Path(model_dir) / ONNX_FILE).is_file() or not onnx_runtime_available():
        exact_f1 = _macro_f1(exact_test, test_truth, labels, exact.multi_label)
        reason = "the int8 ONNX export made no file: the exact model serves on CPUs"
        update_settings(model_dir, served={"cpu_backend": "torch", "reason": reason})
        return ServedCheck(exact.backend, exact.backend, exact_f1, None, None, reason)
    int8 = TextClassifier.load(model_dir, device=torch.device("cpu"), backend="onnx")
    check = _compare(model_dir, exact, exact_test, int8, test_texts, test_truth, labels)[0]
    if check.backend == "onnx":
        update_settings(model_dir, served={"cpu_backend": "onnx"})
    return check


def _compare(
    model_dir: Path,
    exact: TextClassifier,
    exact_test: np.ndarray,
    int8: TextClassifier,
    test_texts: Sequence[str],
    test_truth: Sequence[str] | Sequence[Sequence[str]],
    labels: Sequence[str],
) -> tuple[ServedCheck, np.ndarray]:
    """The check, and the int8 file's test logits; an unfaithful file is removed."""
    multi = exact.multi_label
    exact_f1 = _macro_f1(exact_test, test_truth, labels, multi)
    int8_test = int8.document_logits(test_texts)
    int8_f1 = _macro_f1(int8_test, test_truth, labels, multi)
    agreement = float(np.mean(_decisions(int8_test, multi) == _decisions(exact_test, multi)))
    if len(test_texts) == 0:
        agreement = 1.0
    reason = _unfaithful(exact_f1, int8_f1, agreement)
    if reason is None:
        return ServedCheck("onnx", exact.backend, exact_f1, int8_f1, agreement, None), int8_test
    (Path(model_dir) / ONNX_FILE).unlink()
    update_settings(model_dir, served={"cpu_backend": "torch", "reason": reason})
    check = ServedCheck(exact.backend, exact.backend, exact_f1, int8_f1, agreement, reason)
    return check, int8_test


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
