"""Liger's Triton kernels for a Llama-style decoder's RMSNorm, SwiGLU and rotary embeddings,
in training on a GPU, when the optional `liger-kernel` package is installed.

Once a LoRA step replays as a CUDA graph, most of its GPU time is small elementwise kernels
(BENCHMARKS.md, "Decoder LoRA"): HF's rotary embeddings take about ten per layer forward, the
MLP's SiLU and multiplication two, and each RMSNorm's backward several. Liger computes each of
them in one kernel forward and one backward, with the same arithmetic (float32 inside the norm,
the "llama" casting).

What changes is per model instance (its norms' and MLPs' forwards), except the rotary
embeddings, which the attention layers look up in their modeling module: that module's function
is wrapped once, and the wrapper calls Liger's kernel only for CUDA tensors that need gradients
(a training step); prediction and CPU tensors keep transformers' function.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from custom_classifier.training.module_forwards import replace_forward

_ROTARY_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3"})
"""Decoders whose modeling module defines `apply_rotary_pos_emb(q, k, cos, sin, ...)` with
rotation of the whole head (`rotate_half`), as Liger's kernel computes it."""
_SILU_NAMES = frozenset({"silu", "swish"})


def installed() -> bool:
    """`liger-kernel` imports (with Triton, which it needs)."""
    if importlib.util.find_spec("liger_kernel") is None:
        return False
    try:
        import liger_kernel.ops  # noqa: F401
    except ImportError:
        return False
    return True


def use_liger_kernels(model: torch.nn.Module, norms: Sequence[torch.nn.Module]) -> bool:
    """Route `norms` (Llama-style RMSNorms of `model`), its SwiGLU MLPs and its rotary embeddings
    through Liger's kernels; False (nothing changed) when the package is not installed or the
    model is not a decoder of a kind listed in `_ROTARY_MODEL_TYPES`."""
    config = getattr(model, "config", None)
    if not installed() or getattr(config, "model_type", None) not in _ROTARY_MODEL_TYPES:
        return False
    for norm in norms:
        replace_forward(norm, _liger_rms_norm_forward)
    if getattr(config, "hidden_act", None) in _SILU_NAMES:
        for module in model.modules():
            if all(hasattr(module, name) for name in ("gate_proj", "up_proj", "down_proj")):
                replace_forward(module, _swiglu_forward)
    for modeling in {inspect.getmodule(type(module)) for module in model.modules()}:
        rotary = getattr(modeling, "apply_rotary_pos_emb", None)
        if callable(rotary):
            setattr(modeling, "apply_rotary_pos_emb", _training_rotary(rotary))  # noqa: B010
    return True


def _liger_rms_norm_forward(self: Any, hidden_states: torch.Tensor) -> torch.Tensor:
    """Liger's RMSNorm function (one kernel forward, one backward) as a Llama-style RMSNorm's
    forward; gradients written into the incoming gradient's buffer, as Liger's patch of these
    models does."""
    from liger_kernel.ops.rms_norm import LigerRMSNormFunction

    weight = self.weight.to(hidden_states.dtype)
    eps = float(getattr(self, "variance_epsilon", getattr(self, "eps", 1e-6)))
    return LigerRMSNormFunction.apply(hidden_states, weight, eps, 0.0, "llama", True)


def _swiglu_forward(self: Any, x: torch.Tensor) -> torch.Tensor:
    from liger_kernel.ops.swiglu import LigerSiLUMulFunction

    return self.down_proj(LigerSiLUMulFunction.apply(self.gate_proj(x), self.up_proj(x)))


def _training_rotary(original: Callable[..., Any]) -> Callable[..., Any]:
    """`original` (transformers' `apply_rotary_pos_emb`), calling Liger's kernel instead for
    CUDA tensors under autograd; wrapping it twice returns the first wrapper."""
    if getattr(original, "liger_wrapped", False):
        return original

    def rotary(
        q: torch.Tensor, k: torch.Tensor, cos: Any, sin: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if q.is_cuda and torch.is_grad_enabled() and not args and not kwargs:
            from liger_kernel.transformers.rope import liger_rotary_pos_emb

            return liger_rotary_pos_emb(q, k, cos, sin)
        return original(q, k, cos, sin, *args, **kwargs)

    rotary.liger_wrapped = True  # type: ignore[attr-defined]
    return rotary
