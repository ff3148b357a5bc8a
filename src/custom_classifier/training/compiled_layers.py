"""A decoder's layers compiled with `torch.compile` for LoRA training on a GPU, with a way back.

Once a LoRA step runs as a CUDA graph, the GPU's time goes mostly to small elementwise kernels:
rotary embeddings, each adapter's dropout, scaling and addition, SiLU-and-multiply, residual
adds (BENCHMARKS.md, "Decoder LoRA: where the time went"). Inductor fuses them into a few
kernels per layer. The layers are compiled with dynamic shapes, so the batch shapes of a run
share one compiled graph; the first layer stays eager, because its input (the frozen
embeddings' output) needs no gradient, which would cost a second compile for one layer of many.

A compile that fails (an unsupported model, no compiler on the machine) must not fail the
training: the step that failed runs again with eager layers, and the layers stay eager.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import torch

logger = logging.getLogger(__name__)

Backend = str | Callable[..., Any]
T = TypeVar("T")


def repeated_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's repeated blocks (a decoder's layers) in order: the members of a module list
    whose class transformers names in `_no_split_modules`."""
    names: set[str] = set()
    for module in model.modules():
        names.update(getattr(module, "_no_split_modules", None) or ())
    return [
        layer
        for module in model.modules()
        if isinstance(module, torch.nn.ModuleList)
        for layer in module
        if type(layer).__name__ in names
    ]


class CompiledLayers:
    """The repeated layers of `model` (but the first) with compiled forwards, until a step fails."""

    def __init__(self, model: torch.nn.Module, backend: Backend = "inductor") -> None:
        self.layers: list[torch.nn.Module] = []
        try:
            for layer in repeated_layers(model)[1:]:
                compiled = torch.compile(layer.forward, backend=backend, dynamic=True)
                layer.forward = compiled  # type: ignore[method-assign]
                self.layers.append(layer)
        except Exception as error:  # noqa: BLE001 - e.g. torch.compile unsupported here
            self._give_up(error)

    @property
    def active(self) -> bool:
        return bool(self.layers)

    def run(self, step: Callable[..., T], *args: Any) -> T:
        """`step(*args)`; if it fails with compiled layers, again with eager ones. Inside a CUDA
        graph capture a failure is left to the capture's caller (the capture is broken)."""
        if not self.layers or _capturing():
            return step(*args)
        try:
            return step(*args)
        except Exception as error:  # noqa: BLE001 - a failing compile must not stop training
            self._give_up(error)
        return step(*args)

    def _give_up(self, error: Exception) -> None:
        logger.warning(
            "compiling the model's layers failed (%s: %s); training continues with eager layers",
            type(error).__name__,
            str(error)[:500],
        )
        for layer in self.layers:
            del layer.forward  # the class's own forward again
        self.layers = []


def _capturing() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
