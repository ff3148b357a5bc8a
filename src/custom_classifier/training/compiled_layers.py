"""Layers compiled with `torch.compile` for training on a GPU, with a way back: a LoRA-trained
decoder's layers, or the packed `BertLayer` forward of a fully fine-tuned encoder.

Once a LoRA step runs as a CUDA graph, the GPU's time goes mostly to small elementwise kernels:
rotary embeddings, each adapter's dropout, scaling and addition, SiLU-and-multiply, residual
adds (BENCHMARKS.md, "Decoder LoRA: where the time went"). Inductor fuses them into a few
kernels per layer. The layers are compiled with dynamic shapes and without duck sizing, so the
batch shapes of a run share one compiled graph; the first layer stays eager, because its input
(the frozen embeddings' output) needs no gradient, which would cost a second compile for one
layer of many.

A packed encoder step (`training/packing.py`) on a GPU is bound by its kernels from batch 128
on (BENCHMARKS.md, "Packed windows"): besides the matrix products and flash attention, each
layer runs LayerNorm after a residual addition twice and bias + GELU once, forward and backward,
each a few elementwise kernels over all the tokens. Inductor fuses them; `packed_layer` is
compiled once with dynamic token counts, so every layer and every batch shares one graph.

A compile that fails (an unsupported model, no compiler on the machine) must not fail the
training: the step that failed runs again with eager layers, and the layers stay eager.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar, cast

import torch

from custom_classifier.training import packing

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


class _EagerAfterFailure:
    """Runs training steps through compiled code until one fails, then eagerly for good."""

    @property
    def active(self) -> bool:
        raise NotImplementedError

    def _back_to_eager(self) -> None:
        raise NotImplementedError

    def running_eagerly(self) -> AbstractContextManager[Any]:
        """A context in which compiled code runs eagerly, compiling nothing: validation runs
        there, since a forward without gradients would compile a graph of its own."""
        return _stance("force_eager") if self.active else nullcontext()

    def run(self, step: Callable[..., T], *args: Any) -> T:
        """`step(*args)`; if it fails with compiled layers, again with eager ones. Inside a CUDA
        graph capture nothing compiles (code whose guards fail runs eagerly: on one H200, layers
        compiled inside a capture broke it and left the CUDA random generator unusable), and a
        failure is left to the capture's caller (the capture is broken)."""
        if not self.active:
            return step(*args)
        if _capturing():
            with _stance("eager_on_recompile"):
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
        self._back_to_eager()


class CompiledLayers(_EagerAfterFailure):
    """The repeated layers of `model` (but the first) with compiled forwards, until a step fails."""

    def __init__(self, model: torch.nn.Module, backend: Backend = "inductor") -> None:
        self.layers: list[torch.nn.Module] = []
        try:
            for layer in repeated_layers(model)[1:]:
                compiled = torch.compile(layer.forward, backend=backend, dynamic=True)
                layer.forward = _without_duck_sizing(compiled)  # type: ignore[method-assign]
                self.layers.append(layer)
        except Exception as error:  # noqa: BLE001 - e.g. torch.compile unsupported here
            self._give_up(error)

    @property
    def active(self) -> bool:
        return bool(self.layers)

    def _back_to_eager(self) -> None:
        for layer in self.layers:
            del layer.forward  # the class's own forward again
        self.layers = []


class CompiledPackedLayer(_EagerAfterFailure):
    """`packing.packed_layer` compiled (dynamic token counts), as `packing.packed_logits`'s
    `layer_forward`, until a step fails; then the eager one."""

    def __init__(self, backend: Backend = "inductor") -> None:
        self.eager: packing.PackedLayer = packing.packed_layer
        self.forward: packing.PackedLayer = self.eager
        try:
            self.forward = torch.compile(self.eager, backend=backend, dynamic=True)
        except Exception as error:  # noqa: BLE001 - e.g. torch.compile unsupported here
            self._give_up(error)

    @property
    def active(self) -> bool:
        return self.forward is not self.eager

    def _back_to_eager(self) -> None:
        self.forward = self.eager

    def __call__(
        self,
        layer: Any,
        hidden: torch.Tensor,
        batch: packing.PackedBatch,
        attention: packing.VarlenAttention,
    ) -> torch.Tensor:
        return self.forward(layer, hidden, batch, attention)


def _without_duck_sizing(compiled: Callable[..., T]) -> Callable[..., T]:
    """`compiled`, traced with a symbol of its own for every dynamic size. Dynamo's default
    "duck sizing" gives sizes of equal value one symbol: a first batch 128 tokens wide shares
    its symbol with the rotary embeddings' head size of 128 (Qwen3-0.6B), the width is then
    fixed at 128, and the next width compiles the layer again (on the CPU, two compiles
    instead of one; `tests/training/test_compiled_layers.py`)."""
    from torch.fx.experimental import _config as shapes_config

    def forward(*args: Any, **kwargs: Any) -> T:
        with shapes_config.patch(use_duck_shape=False):  # type: ignore[attr-defined]
            return compiled(*args, **kwargs)

    return forward


def _stance(name: str) -> AbstractContextManager[Any]:
    """`torch.compiler.set_stance(name)` as a context (torch declares no return type)."""
    return cast(AbstractContextManager[Any], torch.compiler.set_stance(name))


def _capturing() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
