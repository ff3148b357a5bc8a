"""Export a fine-tuned classifier folder to an int8 ONNX model for fast CPU prediction.

`TextClassifier.load` picks the file up (`ONNX_FILE`) when onnxruntime is installed; without it
the folder still predicts with PyTorch. The export is an optimisation, so a failure is logged
and never fails a training.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from custom_classifier.inference.classifier_folder import ONNX_FILE

logger = logging.getLogger(__name__)
_OPSET = 17
_SAMPLE_LENGTH = 16
_QUANTIZATION_SOURCE = os.path.join("onnxruntime", "quantization", "")


def export_onnx(model_dir: Path) -> Path | None:
    """Write `model_dir / ONNX_FILE` (int8 dynamic quantization, per output channel: kept 99.7%
    of labels where per-tensor kept 99.2% at window 512); None when it cannot be made."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        logger.warning("no ONNX export (%s): install onnx and onnxruntime", exc)
        return None
    target = Path(model_dir) / ONNX_FILE
    try:
        with tempfile.TemporaryDirectory(prefix="cc-onnx-") as tmp:
            fp32 = Path(tmp) / "model.onnx"
            export_fp32(Path(model_dir), fp32)
            root = logging.getLogger()
            root.addFilter(_quiet_quantizer)
            try:
                quantize_dynamic(fp32, target, weight_type=QuantType.QInt8, per_channel=True)
            finally:
                root.removeFilter(_quiet_quantizer)
    except Exception:
        logger.warning("the ONNX export failed; prediction will use PyTorch", exc_info=True)
        target.unlink(missing_ok=True)
        return None
    return target


MIN_LABEL_AGREEMENT = 0.995
"""An int8 file is kept for a decoder only if it gives the labels of the PyTorch model on at
least this share of the checked windows."""
AGREEMENT_WINDOWS = 128


def keep_if_faithful(model_dir: Path, windows: Sequence[np.ndarray]) -> float | None:
    """Compare the int8 file's window labels with PyTorch's (the backend that would serve
    instead) on up to `AGREEMENT_WINDOWS` windows; delete the file below `MIN_LABEL_AGREEMENT`.
    Returns the agreement, or None when there is no file or nothing to check."""
    from custom_classifier.inference.text_classifier import TextClassifier

    target = Path(model_dir) / ONNX_FILE
    windows = list(windows)[:AGREEMENT_WINDOWS]
    if not target.is_file() or not windows:
        return None
    device = torch.device("cpu")
    int8 = TextClassifier.load(model_dir, device=device, backend="onnx").window_logits(windows)
    exact = TextClassifier.load(model_dir, device=device, backend="torch").window_logits(windows)
    agreement = float(np.mean(int8.argmax(axis=1) == exact.argmax(axis=1)))
    if agreement < MIN_LABEL_AGREEMENT:
        logger.warning(
            "the int8 ONNX model agrees with PyTorch on %.1f%% of %d windows (< %.1f%%): "
            "removed; prediction uses PyTorch",
            100 * agreement,
            len(windows),
            100 * MIN_LABEL_AGREEMENT,
        )
        target.unlink()
    return agreement


def _quiet_quantizer(record: logging.LogRecord) -> bool:
    # quantize_dynamic logs to the root logger: an INFO line per tensor ("Quantization
    # parameters for tensor ... not specified", hundreds per model, flooding a worker's job log)
    # and, on every call, advice to pre-process the graph, which already has the shapes that
    # dynamic quantization needs. Its warnings about real problems still pass.
    if record.levelno < logging.WARNING and _QUANTIZATION_SOURCE in record.pathname:
        return False
    return not str(record.msg).startswith("Please consider to run pre-processing")


def export_fp32(model_dir: Path, path: Path) -> None:
    """The float32 ONNX graph of the folder's model: inputs `input_ids`, `attention_mask`.

    Eager attention: traced exactly (the tests compare it with PyTorch), whereas tracing SDPA
    depends on how each transformers version builds its masks.
    """
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, attn_implementation="eager"
    ).eval()
    ids = torch.ones((2, _SAMPLE_LENGTH), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, _SAMPLE_LENGTH // 2 :] = 0
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter warns about its own deprecation
        torch.onnx.export(
            model,
            (ids, mask),
            str(path),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
            opset_version=_OPSET,
        )
