"""Window building shared by training and prediction.

The code lives in `inference/text_classifier.py`, which must stay importable on its own inside
the MLflow model; this module is the name training code imports it by.
"""

from __future__ import annotations

from custom_classifier.inference.text_classifier import (
    attention_kernels,
    autocast_for,
    build_windows,
    collate,
    document_probabilities,
    effective_stride,
    length_sorted_batches,
    make_collator,
    window_logits,
)

__all__ = [
    "attention_kernels",
    "autocast_for",
    "build_windows",
    "collate",
    "document_probabilities",
    "effective_stride",
    "length_sorted_batches",
    "make_collator",
    "window_logits",
]
