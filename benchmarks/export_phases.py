"""Where the end of a training goes: saving the folder, tracing to ONNX, int8 quantization.

    python3 -m benchmarks.export_phases

Uses the bundled MiniLM with a fresh 5-label head (the weights do not change the cost).
Prints seconds per phase, each twice (a fresh process pays imports and first calls once).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from benchmarks.gpu_common import base_model


def main() -> None:
    started = time.perf_counter()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.onnx_export import export_fp32
    from custom_classifier.training.trainer import load_base_model, save_classifier

    imports = time.perf_counter() - started
    labels = ["a", "b", "c", "d", "e"]
    tokenizer, model = load_base_model(base_model(), labels, attention_dropout=0.0)
    for attempt in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            marks = {"imports": imports if attempt == 1 else 0.0}
            mark = time.perf_counter()
            save_classifier(model, tokenizer, labels, TrainingArguments(), folder)
            marks["save"] = time.perf_counter() - mark
            mark = time.perf_counter()
            export_fp32(folder, Path(tmp) / "fp32.onnx")
            marks["trace_fp32"] = time.perf_counter() - mark
            mark = time.perf_counter()
            quantize_dynamic(
                Path(tmp) / "fp32.onnx",
                Path(tmp) / "int8.onnx",
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
            marks["quantize_int8"] = time.perf_counter() - mark
        print(json.dumps({"attempt": attempt, **{k: round(v, 2) for k, v in marks.items()}}))


if __name__ == "__main__":
    main()
