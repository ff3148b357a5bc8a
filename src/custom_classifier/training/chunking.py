"""Window building and scoring shared by training and prediction.

The code lives in `inference/text_classifier.py` and `inference/window_scorers.py`, which must
stay importable on their own inside the MLflow model; this module is the name training code
imports it by.
"""

from __future__ import annotations

from custom_classifier.inference.text_classifier import (
    build_windows,
    document_probabilities,
    effective_stride,
)
from custom_classifier.inference.window_scorers import (
    attention_kernels,
    autocast_for,
    length_sorted_batches,
    pad_windows,
    unmasked_attention,
    window_logits,
)

__all__ = [
    "attention_kernels",
    "autocast_for",
    "build_windows",
    "document_probabilities",
    "effective_stride",
    "length_sorted_batches",
    "pad_windows",
    "unmasked_attention",
    "window_logits",
]
