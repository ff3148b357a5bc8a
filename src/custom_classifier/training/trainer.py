"""Fine-tune a Hugging Face encoder into a document classifier with a plain PyTorch loop.

A plain loop rather than `transformers.Trainer`: the best weights are kept in memory (no
checkpoints on disk), the loss is class-weighted, batches are length-bucketed, and progress,
cancellation and per-epoch callbacks fit in without callback plumbing.

`fine_tune` only orchestrates: load the base model, encode the windows (`windows`), run the
loop (`loop`) in this process, save. Data-parallel training is the launcher's business
(`data_parallel.fine_tune_data_parallel` starts ranks that each call `fine_tune`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, set_seed

from custom_classifier.corpus.models import Split
from custom_classifier.errors import TrainingError
from custom_classifier.inference.classifier_folder import CLASSIFIER_FILE
from custom_classifier.training import backbones, distributed
from custom_classifier.training.arguments import (
    EpochCallback,
    ProgressCallback,
    StopCheck,
    TrainingArguments,
)
from custom_classifier.training.backbones import load_base_model
from custom_classifier.training.distributed import process_group, shard_batches
from custom_classifier.training.loop import TrainingLoop, uses_cpu_bf16
from custom_classifier.training.memory import release_freed_memory, unmap_large_blocks_on_free
from custom_classifier.training.windows import (
    EncodedSplit,
    WindowBank,
    batch_policy,
    class_weights,
    encode_documents,
    shuffled_length_batches,
)

# `windows` and `distributed` names are re-exported: they lived here before the split.
__all__ = [
    "EncodedSplit",
    "FineTuneResult",
    "WindowBank",
    "batch_policy",
    "class_weights",
    "encode_documents",
    "fine_tune",
    "load_base_model",
    "process_group",
    "save_classifier",
    "shard_batches",
    "shuffled_length_batches",
]


@dataclass(frozen=True)
class FineTuneResult:
    model_dir: Path
    """Folder with the HF model, its tokenizer and `classifier.json`, ready for `TextClassifier`."""
    history: list[dict[str, float]]
    """One entry per epoch: `epoch`, `train_loss` and, with a validation split, `val_*` scores."""
    best_epoch: int
    """The epoch whose weights were kept (best validation macro-F1; lower loss among equals)."""
    train_seconds: float
    adapter_dir: Path | None = None
    """The LoRA adapters and head (PEFT format) when they trained; `model_dir` has them merged."""
    export_seconds: float = 0.0
    """Of `train_seconds`, the int8 ONNX export (k-fold's folds skip it: their estimate)."""


def fine_tune(
    base_model: str,
    split: Split,
    labels: list[str],
    args: TrainingArguments,
    output_dir: Path,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> FineTuneResult:
    """Fine-tune `base_model` on `split.train`, keep the epoch best on `split.validation`, save it.

    In this process; under `torch.distributed` (a rank of `fine_tune_data_parallel`), as one of
    the group. Raises `BaseModelError` when the base model cannot be loaded and
    `TrainingCancelledError` as soon as `should_stop()` returns true.
    """
    started = time.monotonic()
    set_seed(args.seed)
    device = distributed.process_device(process_group()[1])
    if device.type == "cpu":  # a step's activations go back to the system when freed
        unmap_large_blocks_on_free()
    tokenizer, model = _load_backbone(base_model, labels, args, device)
    _check_max_length(model, args.max_length)
    train = encode_documents(
        tokenizer, split.train, labels, args, max_windows=args.max_chunks_per_document
    )
    if not train.windows:
        raise TrainingError("the training split has no documents; at least one per label is needed")
    validation = encode_documents(tokenizer, split.validation, labels, args)
    loop = TrainingLoop(model, tokenizer, args, train, validation, labels, on_progress, should_stop)
    history, best_epoch = loop.run(on_epoch_end)
    rank, world = loop.rank, loop.world
    # The optimizer's state, the gradients and the window bank are not needed to save and export.
    del loop
    model.zero_grad(set_to_none=True)
    release_freed_memory()
    model_dir = Path(output_dir) / "model"
    adapter_dir = (
        Path(output_dir) / backbones.ADAPTER_FOLDER if backbones.is_lora_model(model) else None
    )
    exporting = time.monotonic()
    if rank == 0:  # under data-parallel training, the first process writes the model
        served = backbones.merge_for_serving(model, adapter_dir, base_model)
        save_classifier(served, tokenizer, labels, args, model_dir)
        kind = backbones.model_kind(served.config)
        del served, model  # the export loads the saved copy
        release_freed_memory()
        exporting = time.monotonic()
        if args.export_onnx:
            from custom_classifier.training.onnx_export import export_onnx, keep_if_faithful

            export_onnx(model_dir)
            if kind == "decoder":
                keep_if_faithful(model_dir, validation.windows or train.windows)
    export_seconds = time.monotonic() - exporting
    distributed.wait_for_every_process(world)  # the folder is complete for every process
    elapsed = time.monotonic() - started
    return FineTuneResult(model_dir, history, best_epoch, elapsed, adapter_dir, export_seconds)


def _load_backbone(
    base_model: str, labels: list[str], args: TrainingArguments, device: torch.device
) -> tuple[Any, Any]:
    """The tokenizer and the model to train: LoRA-wrapped where `args` and the kind say, with
    gradient checkpointing where a batch's activations would not fit."""
    kind = backbones.read_kind(base_model)
    lora = kind is not None and backbones.uses_lora(args, kind)
    tokenizer, model = load_base_model(
        base_model,
        labels,
        attention_dropout=args.attention_dropout,
        dtype=backbones.frozen_weights_dtype(device, lora),
        multi_label=args.mode == "multi",
    )
    checkpointing = args.gradient_checkpointing
    if checkpointing is None:
        batch_size, _ = batch_policy(args, device)
        checkpointing = backbones.needs_gradient_checkpointing(
            model.config,
            batch_size,
            args.max_length,
            value_bytes=2 if device.type == "cuda" or uses_cpu_bf16(args) else 4,
            free_bytes=backbones.free_memory_bytes(device),
        )
    if checkpointing:
        backbones.enable_gradient_checkpointing(model)
    if lora:
        model = backbones.add_lora_adapters(model, args)
    return tokenizer, model


def _check_max_length(model: PreTrainedModel, max_length: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and max_length > limit:
        raise TrainingError(
            f"max_length is {max_length} tokens but the base model reads at most {limit}; "
            f"set max_length to {limit} or less (use long_document_strategy 'chunks' for long texts)"
        )


def save_classifier(
    model: PreTrainedModel,
    tokenizer: Any,
    labels: Sequence[str],
    args: TrainingArguments,
    path: Path,
) -> Path:
    """Write the HF model (safetensors), its tokenizer and `classifier.json` into `path`."""
    path.mkdir(parents=True, exist_ok=True)
    kind = backbones.model_kind(model.config)
    if kind == "decoder":
        model.config.use_cache = False  # a classifier reads each window once: no key-value cache
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    settings = {
        "labels": list(labels),
        "max_length": args.max_length,
        "long_document_strategy": args.long_document_strategy,
        "chunk_stride": args.chunk_stride,
        "kind": kind,
    }
    if args.mode == "multi":  # one sigmoid per label; the gate adds the tuned `thresholds`
        settings["multi_label"] = True
    if args.hierarchical:  # labels are paths; predictions answer the path, level by level
        settings["hierarchical"] = True
    (path / CLASSIFIER_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return path
