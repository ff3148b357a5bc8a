"""The GPU training levers that swap kernels compute what the plain path computes: logits and
gradients of a LoRA step on tiny random Qwen3 and Llama decoders, plain PEFT against Liger's
kernels, fused adapter additions and both, in float32 and with bf16 frozen weights under bf16
autocast (as `fine_tune` trains on a GPU).

    python3 -m benchmarks.llm_gpu_kernels_check

Prints one JSON line per model, dtype and lever: the relative error ||out - ref|| / ||ref|| of
the logits and the largest over the trained weights' gradients. Needs a CUDA GPU and, for the
Liger rows, the `liger-kernel` package. The plain references are computed before any model is
given Liger's kernels (its rotary embeddings, once routed, stay so in the process).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import torch

SIZES = {
    "hidden_size": 128,
    "intermediate_size": 384,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "vocab_size": 512,
    "pad_token_id": 0,
    "num_labels": 4,
}
LEVERS = {
    "Liger kernels": {"liger_kernels": True, "fused_adapter_additions": False},
    "additions fused": {"fused_adapter_additions": True},
    "Liger kernels, additions fused": {"liger_kernels": True, "fused_adapter_additions": True},
}


def lora_model(kind: str, frozen: torch.dtype) -> Any:
    from transformers import (
        LlamaConfig,
        LlamaForSequenceClassification,
        Qwen3Config,
        Qwen3ForSequenceClassification,
    )

    from custom_classifier.training import backbones
    from custom_classifier.training.arguments import TrainingArguments

    torch.manual_seed(0)
    if kind == "qwen3":
        model = Qwen3ForSequenceClassification(Qwen3Config(**SIZES))
    else:
        model = LlamaForSequenceClassification(LlamaConfig(**SIZES))
    model = model.to("cuda", frozen)
    model = backbones.add_lora_adapters(model, TrainingArguments(lora_dropout=0.0))
    for name, parameter in model.named_parameters():  # B = 0 at start would hide B's effect
        if "lora_B" in name:
            torch.nn.init.normal_(parameter, std=0.02)
    return model


def step(model: Any, ids: torch.Tensor, autocast: bool) -> tuple[torch.Tensor, list]:
    model.zero_grad(set_to_none=True)
    targets = torch.arange(len(ids), device="cuda") % SIZES["num_labels"]
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        logits = model(input_ids=ids, use_cache=False).logits.float()
    torch.nn.functional.cross_entropy(logits, targets).backward()
    grads = [p.grad.float().clone() for p in model.parameters() if p.requires_grad]
    return logits.detach(), grads


def relative(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out - ref).norm() / ref.norm().clamp_min(1e-30))


def main() -> None:
    from custom_classifier.training import backbones
    from custom_classifier.training.step_graphs import SpeedLevers

    cases = []
    for kind in ("qwen3", "llama"):
        for frozen in (torch.float32, torch.bfloat16):
            ids = torch.randint(1, SIZES["vocab_size"], (6, 160), device="cuda")
            reference = lora_model(kind, frozen)
            plain = step(reference, ids, autocast=frozen == torch.bfloat16)
            cases.append((kind, frozen, ids, reference, plain))
    for lever, switches in sorted(LEVERS.items(), key=lambda item: "liger" in str(item[1])):
        for kind, frozen, ids, reference, (logits, grads) in cases:
            model = copy.deepcopy(reference)
            liger = backbones.speed_up_for_gpu(model, SpeedLevers(**switches))
            out_logits, out_grads = step(model, ids, autocast=frozen == torch.bfloat16)
            row = {
                "model": kind,
                "frozen": str(frozen).removeprefix("torch."),
                "lever": lever,
                "liger_in_use": liger,
                "logits_rel_err": relative(out_logits, logits),
                "max_grad_rel_err": max(map(relative, out_grads, grads)),
                "finite": bool(torch.isfinite(out_logits).all()),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
