"""Base models as trainable backbones: encoders fine-tuned fully, decoders through LoRA adapters.

One sequence-classification model serves both kinds; what differs is set up here, once:
- a decoder tokenizer often has no pad token: the end-of-sequence token pads, and the model's
  config learns its id (`config.pad_token_id`), without which a batch of more than one row fails;
- decoders pool the last non-pad token, so windows are padded on the right (left padding would
  also move every position);
- a decoder trains LoRA adapters on all its linear layers plus a fully trained score head
  (PEFT `modules_to_save`), and is merged back into a plain model when saved, so that loaders
  need nothing special; the adapters are saved beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from custom_classifier.errors import BaseModelError
from custom_classifier.training import liger_kernels
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.module_forwards import replace_forward

if TYPE_CHECKING:
    from custom_classifier.training.step_graphs import SpeedLevers

ModelKind = Literal["encoder", "decoder"]
ADAPTER_FOLDER = "adapter"
BASE_MODEL_FILE = "base_model.json"
"""Written beside the adapter weights: the base model they apply to, as the user named it."""

# Names of the attention-probability dropout in the configs of BERT-family and decoder models.
_ATTENTION_DROPOUT_FIELDS = ("attention_probs_dropout_prob", "attention_dropout")
_HEAD_NAMES = ("score", "classifier")
# RMSNorm layers computing `weight * x / rms(x)` (Gemma's `(1 + weight)` is not among them).
_LLAMA_STYLE_RMS_NORMS = frozenset(
    {"LlamaRMSNorm", "Qwen2RMSNorm", "Qwen3RMSNorm", "MistralRMSNorm", "Qwen3MoeRMSNorm"}
)
_CHECKPOINTING_SHARE = 0.7
"""Gradient checkpointing turns on when a batch's activations would take more than this share
of the free memory (what the weights and the optimizer leave)."""


def model_kind(config: Any) -> ModelKind:
    """`decoder` for causal language models (Llama, Qwen, Gemma, Mistral, SmolLM, GPT-2...),
    `encoder` for the rest (BERT, RoBERTa, ModernBERT, DeBERTa...).

    BERT-family models also have causal-LM heads, so a masked-LM head marks an encoder.
    """
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = getattr(config, "model_type", "")
    causal = model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    masked = model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    return "decoder" if causal and not masked else "encoder"


def read_kind(base_model: str) -> ModelKind | None:
    """The kind of `base_model` from its config; None when the config cannot be read (loading
    the model then fails with the reason)."""
    try:
        return model_kind(AutoConfig.from_pretrained(base_model))
    except Exception:  # noqa: BLE001
        return None


def uses_lora(args: TrainingArguments, kind: ModelKind) -> bool:
    """LoRA for decoders and full fine-tuning for encoders, unless `args.fine_tuning` says."""
    if args.fine_tuning == "auto":
        return kind == "decoder"
    return args.fine_tuning == "lora"


def training_forward_options(config: Any) -> dict[str, Any]:
    """Keyword arguments of a training step's forward call: a decoder is told to build no
    key-value cache, which nothing reads in training (transformers 5.17 builds one anyway) and
    whose per-layer state made compiled layers compile once per layer (BENCHMARKS.md)."""
    return {"use_cache": False} if model_kind(config) == "decoder" else {}


def frozen_weights_dtype(device: torch.device, lora: bool) -> torch.dtype:
    """bf16 for the frozen base weights of a LoRA training on a GPU with bf16 (half the memory
    and the bandwidth; the adapters and the head stay float32); float32 everywhere else."""
    if lora and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def prepare_tokenizer(tokenizer: Any, config: Any) -> None:
    """Give the tokenizer a pad token (its end-of-sequence token when it has none), tell the
    config its id, and pad on the right."""
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise BaseModelError(
                "the base model's tokenizer has no pad, end-of-sequence or unknown token to pad "
                "batches with; expected a tokenizer that defines at least one of them",
                details={"tokenizer": type(tokenizer).__name__},
            )
        tokenizer.pad_token = fallback
    tokenizer.padding_side = "right"
    config.pad_token_id = tokenizer.pad_token_id


def load_base_model(
    base_model: str,
    labels: Sequence[str],
    *,
    attention_dropout: float | None = None,
    dtype: torch.dtype | None = None,
    multi_label: bool = False,
) -> tuple[Any, Any]:
    """The tokenizer and a sequence-classification model with a fresh head for `labels` (one
    sigmoid per label when `multi_label`: the saved config says so)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model)
        config = AutoConfig.from_pretrained(
            base_model,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type=(
                "multi_label_classification" if multi_label else "single_label_classification"
            ),
        )
        prepare_tokenizer(tokenizer, config)
        if attention_dropout is not None:
            for field in _ATTENTION_DROPOUT_FIELDS:
                if hasattr(config, field):
                    setattr(config, field, attention_dropout)
        model = AutoModelForSequenceClassification.from_pretrained(
            base_model, config=config, ignore_mismatched_sizes=True, dtype=dtype or torch.float32
        )
    except BaseModelError:
        raise
    except Exception as exc:
        raise BaseModelError(
            f"could not load the base model {base_model!r} ({type(exc).__name__}: {exc}); "
            "expected a Hugging Face model id, a local folder with a model and its tokenizer, "
            "a .gguf file or a preset name (`custom-classifier models` lists them). The Hugging "
            "Face hub may be unreachable from this machine: set CC_BASE_MODEL to a local folder "
            "(unset, it defaults to the bundled all-MiniLM-L6-v2)",
            details={"base_model": base_model},
        ) from exc
    return tokenizer, model


def add_lora_adapters(model: Any, args: TrainingArguments) -> Any:
    """`model` wrapped by PEFT: LoRA adapters on every linear layer, the score head trained fully.

    Trained weights stay float32 when the frozen ones are bf16: the head here, the adapters by
    PEFT (`autocast_adapter_dtype`); Adam steps on bf16 weights would round small updates away.
    """
    from peft import LoraConfig, TaskType, get_peft_model

    for name in _HEAD_NAMES:
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            head.float()
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,  # adds the head (`score`, `classifier`) to modules_to_save
        r=args.lora_rank,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules="all-linear",
    )
    return get_peft_model(model, config)


def is_lora_model(model: Any) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def activation_bytes(config: Any, batch_size: int, length: int, value_bytes: int) -> int:
    """Rough size of the activations a training step keeps for the backward pass.

    Per token and layer: about 13 hidden-size values for attention and norms, 6 intermediate-size
    values for the feed-forward block, plus the attention scores where they are materialized
    (after Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models").
    """
    hidden = int(config.hidden_size)
    intermediate = int(getattr(config, "intermediate_size", None) or 4 * hidden)
    heads = int(config.num_attention_heads)
    layers = int(config.num_hidden_layers)
    per_token = 13 * hidden + 6 * intermediate + heads * length
    return layers * batch_size * length * per_token * value_bytes


def free_memory_bytes(device: torch.device) -> int:
    """Memory still free on `device` (the GPU's, or the machine's available RAM)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def needs_gradient_checkpointing(
    config: Any, batch_size: int, length: int, *, value_bytes: int, free_bytes: int
) -> bool:
    """True when one batch's activations would not fit comfortably in `free_bytes`."""
    needed = activation_bytes(config, batch_size, length, value_bytes)
    return needed > _CHECKPOINTING_SHARE * free_bytes


def enable_gradient_checkpointing(model: Any) -> None:
    """Recompute activations in the backward pass instead of keeping them (non-reentrant: works
    with frozen embeddings under LoRA and with DistributedDataParallel)."""
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False


def freeze_word_embeddings(model: Any) -> None:
    """Leave the word-embedding matrix out of training: no gradient, no optimizer state (the
    position and token-type embeddings and their LayerNorm still train)."""
    model.get_input_embeddings().weight.requires_grad_(False)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights training changes: everything under full fine-tuning, the
    adapters and the head under LoRA (megabytes instead of the whole model each best epoch)."""
    return {
        name: parameter.detach().to("cpu", copy=True)
        for name, parameter in model.named_parameters()
        if parameter.requires_grad
    }


def restore_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            parameters[name].copy_(value)


def merge_for_serving(model: Any, adapter_dir: Path | None, base_model: str) -> Any:
    """A plain Hugging Face model to save: LoRA adapters are written to `adapter_dir` (with
    `BASE_MODEL_FILE` naming `base_model`) and then folded into the weights."""
    if not is_lora_model(model):
        return model
    if adapter_dir is not None:
        model.save_pretrained(adapter_dir)
        (adapter_dir / BASE_MODEL_FILE).write_text(
            json.dumps({"base_model": base_model}, indent=2), encoding="utf-8"
        )
    return model.merge_and_unload()


def speed_up_for_gpu(model: Any, levers: SpeedLevers) -> bool:
    """Training-time kernel choices on a GPU that leave the model's function unchanged: Liger's
    kernels for a Llama-style decoder's norms, SwiGLU and rotary embeddings (when the lever is on
    and `liger-kernel` is installed), else fused RMSNorm for Llama-style norms; adapters' scaling
    and addition in their matrix product (when the lever is on) and, under bf16 autocast, no
    float32 cast of each adapter's input (autocast casts it back to bf16 right away). True when
    Liger's kernels are in use."""
    norms = [m for m in model.modules() if type(m).__name__ in _LLAMA_STYLE_RMS_NORMS]
    liger = levers.liger_kernels and liger_kernels.use_liger_kernels(model, norms)
    if levers.fused_rms_norm and not liger:
        for module in norms:
            replace_forward(module, fused_rms_norm_forward)
    if levers.fused_adapter_additions and is_lora_model(model):
        from custom_classifier.training.fused_adapters import fuse_adapter_additions

        fuse_adapter_additions(model)
    if not levers.lora_input_casts and is_lora_model(model):
        from peft.tuners.tuners_utils import BaseTunerLayer

        for module in model.modules():
            if isinstance(module, BaseTunerLayer):
                module.cast_input_dtype_enabled = False  # type: ignore[attr-defined]
    return liger


def fused_rms_norm_forward(self: Any, hidden_states: torch.Tensor) -> torch.Tensor:
    """A Llama-style RMSNorm's forward as `torch.nn.functional.rms_norm` (one kernel, float32
    accumulation); the output keeps the input's dtype, as the original's does."""
    weight = self.weight.to(hidden_states.dtype)
    eps = float(getattr(self, "variance_epsilon", getattr(self, "eps", 1e-6)))
    with torch.autocast(hidden_states.device.type, enabled=False):
        return torch.nn.functional.rms_norm(hidden_states, (hidden_states.shape[-1],), weight, eps)
