"""Loaded by every Python process started with this folder on PYTHONPATH (`site` imports
`sitecustomize`): when `CORRUPT_INT8_WEIGHTS` is set, the training's int8 ONNX export is followed
by scrambling the file's quantized weights, as a broken quantizer would leave them.

The embedded runner trains in a child process, where a test's monkeypatch cannot reach; the
export, the gate's served check, the registration and the loaders that follow are the real ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Export = Callable[[Path], Path | None]


def _scramble(path: Path) -> None:
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    generator = np.random.default_rng(0)
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.data_type == onnx.TensorProto.INT8:
            weights = numpy_helper.to_array(tensor)
            scrambled = generator.integers(-127, 128, size=weights.shape, dtype=np.int8)
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(scrambled, tensor.name))
    onnx.save(model, str(path))


def scrambling(export: Export) -> Export:
    """`export`, followed by scrambling the int8 weights of the file it wrote."""

    def export_then_scramble(model_dir: Path) -> Path | None:
        written = export(model_dir)
        if written is not None:
            _scramble(written)
        return written

    return export_then_scramble


def _install() -> None:
    from custom_classifier.training import onnx_export

    onnx_export.export_onnx = scrambling(onnx_export.export_onnx)


if os.environ.get("CORRUPT_INT8_WEIGHTS"):
    _install()
