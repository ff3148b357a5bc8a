"""`SpeedLevers.liger_kernels`: a decoder's norms and SwiGLU MLPs routed through Liger's kernels
when `liger-kernel` is installed, computing what the model's own layers do; nothing changed
without it. On the CPU, Liger (Triton) cannot run: a stand-in package with the same entry points
computes in PyTorch, so these tests check the wiring; benchmarks/llm_gpu_kernels_check.py checks
the real kernels on a GPU (BENCHMARKS.md)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from custom_classifier.training import backbones, liger_kernels
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.step_graphs import SpeedLevers

LABELS = ["sport", "finance"]
STAND_IN = {
    "__init__.py": "",
    "ops/__init__.py": "",
    "ops/rms_norm.py": """
        import torch

        CALLS = []

        class LigerRMSNormFunction:
            @staticmethod
            def apply(x, weight, eps, offset, casting_mode, in_place):
                CALLS.append(casting_mode)
                variance = x.float().pow(2).mean(-1, keepdim=True)
                return weight * (x.float() * torch.rsqrt(variance + eps)).to(x.dtype)
        """,
    "ops/swiglu.py": """
        import torch

        CALLS = []

        class LigerSiLUMulFunction:
            @staticmethod
            def apply(a, b):
                CALLS.append(a.shape)
                return torch.nn.functional.silu(a) * b
        """,
    "transformers/__init__.py": "",
    "transformers/rope.py": """
        def liger_rotary_pos_emb(q, k, cos, sin):
            raise AssertionError("CPU tensors keep transformers' rotary embeddings")
        """,
}


@pytest.fixture
def stand_in_liger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, text in STAND_IN.items():
        path = tmp_path / "liger_kernel" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for module in [name for name in sys.modules if name.startswith("liger_kernel")]:
        del sys.modules[module]


def lora_decoder(folder: Path) -> tuple[object, torch.nn.Module]:
    tokenizer, model = backbones.load_base_model(str(folder), LABELS)
    torch.manual_seed(0)
    wrapped = backbones.add_lora_adapters(model, TrainingArguments(lora_dropout=0.0))
    with torch.no_grad():  # PEFT starts B at zero, which would hide the adapters' gradients
        for name, parameter in wrapped.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.1)
    return tokenizer, wrapped


def logits_and_grads(model: torch.nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, list]:
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=ids, use_cache=False).logits
    logits.square().sum().backward()
    return logits.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad]


def test_liger_kernels_train_as_the_models_own_layers(
    tiny_decoder: Path, stand_in_liger: None
) -> None:
    from liger_kernel.ops import rms_norm, swiglu

    tokenizer, model = lora_decoder(tiny_decoder)
    ids = tokenizer(["football goal match", "bank stock"], padding=True, return_tensors="pt")
    plain_logits, plain_grads = logits_and_grads(model, ids["input_ids"])

    assert backbones.speed_up_for_gpu(model, SpeedLevers(liger_kernels=True))
    logits, grads = logits_and_grads(model, ids["input_ids"])

    layers = model.config.num_hidden_layers
    norms_per_layer = 4 if model.config.model_type == "qwen3" else 2  # Qwen3: q and k norms
    assert len(rms_norm.CALLS) == norms_per_layer * layers + 1 and len(swiglu.CALLS) == layers
    torch.testing.assert_close(logits, plain_logits, rtol=1e-4, atol=1e-5)
    assert len(grads) == len(plain_grads)
    for grad, plain in zip(grads, plain_grads, strict=True):
        torch.testing.assert_close(grad, plain, rtol=1e-4, atol=1e-5)


def test_without_liger_installed_the_lever_changes_nothing(tiny_llama: Path) -> None:
    if liger_kernels.installed():
        pytest.skip("liger-kernel is installed here")
    _, model = lora_decoder(tiny_llama)

    assert not backbones.speed_up_for_gpu(model, SpeedLevers(liger_kernels=True))
    norms = [m for m in model.modules() if type(m).__name__.endswith("RMSNorm")]
    assert norms and all(type(m).forward is backbones.fused_rms_norm_forward for m in norms)
