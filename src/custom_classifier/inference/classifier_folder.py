"""The files of a fine-tuned classifier folder: `classifier.json` (labels and window settings)
next to the Hugging Face model, and the optional int8 ONNX copy.

Torch-free (the registry reads the labels in the API process) and self-contained: it is shipped
inside the MLflow model with `text_classifier.py`, so it imports nothing of ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLASSIFIER_FILE = "classifier.json"
"""`labels`, `max_length`, `long_document_strategy`, `chunk_stride` and `kind`; after the
acceptance gate, `temperature` and `min_score` (calibrated scores, abstention) and `served`
(which CPU backend serves, and why). A multi-label classifier has `multi_label: true` and,
after the gate, `thresholds` (label -> the score from which it is predicted)."""
ONNX_FILE = "model.int8.onnx"
"""The int8 ONNX copy of the model that training writes next to the weights, for CPU prediction."""


def read_settings(model_dir: str | Path) -> dict[str, Any]:
    """The folder's `classifier.json`; `FileNotFoundError` saying what was expected."""
    settings_file = Path(model_dir) / CLASSIFIER_FILE
    if not settings_file.is_file():
        raise FileNotFoundError(
            f"{settings_file} is missing; expected a folder written by fine_tune "
            "(a Hugging Face model, its tokenizer and classifier.json)"
        )
    settings: dict[str, Any] = json.loads(settings_file.read_text(encoding="utf-8"))
    return settings


def read_labels(model_dir: str | Path) -> list[str]:
    """The classifier's labels, in the order of its outputs."""
    return list(read_settings(model_dir)["labels"])


def update_settings(model_dir: str | Path, **values: Any) -> dict[str, Any]:
    """Merge `values` into the folder's `classifier.json`; return the new settings."""
    settings = read_settings(model_dir) | values
    settings_file = Path(model_dir) / CLASSIFIER_FILE
    settings_file.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return settings
