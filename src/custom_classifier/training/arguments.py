"""Training arguments, acceptance criteria, the progress record and the training callbacks,
with no torch import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

LongDocumentStrategy = Literal["head", "chunks"]
FineTuning = Literal["auto", "full", "lora"]


@dataclass(frozen=True)
class TrainingArguments:
    """How a classifier is fine-tuned. Every field has a default chosen for the general case."""

    epochs: int = 8
    """Upper bound on passes over the training split; early stopping may end sooner.
    (Defaults measured in BENCHMARKS.md, "Choosing the training defaults".)"""
    learning_rate: float = 5e-5
    batch_size: int = 16
    """Windows per step on a CPU (and on a GPU when `gpu_batch_size` is None)."""
    max_length: int = 512
    """Tokens per window the model sees (512, the window of most BERT-family models)."""
    long_document_strategy: LongDocumentStrategy = "head"
    """`head` truncates each document; `chunks` uses overlapping windows whose logits are combined."""
    chunk_stride: int = 64
    """Tokens shared by two consecutive windows when `long_document_strategy` is `chunks`."""
    max_chunks_per_document: int = 8
    """Training uses at most this many windows of one document (prediction uses all)."""
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    early_stopping_patience: int = 3
    """Epochs without a higher validation macro-F1 before training stops; a perfect macro-F1
    stops it at once. The validation loss only chooses among epochs of equal macro-F1."""
    attention_dropout: float | None = 0.0
    """Dropout on attention probabilities while training; None keeps the base model's. 0 by
    default: with it, PyTorch's fused attention gives way to a slow path (a CPU training step at
    512 tokens took 7.6 s instead of 2.1 s here); hidden-state dropout still regularizes."""
    class_weighted_loss: bool = True
    mixed_precision: bool = True
    """bf16 autocast on CPUs that compute bf16 natively (AVX512-BF16 or AMX: 2-3x faster
    training); float32 on other CPUs. CUDA GPUs with bf16 always train in bf16 autocast."""
    seed: int = 42
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    gpu_batch_size: int | None = 64
    """Windows per step on a CUDA GPU, where a step costs mostly launch overhead, so larger
    batches train faster; None uses `batch_size`."""
    gpu_learning_rate: float | None = 1e-4
    """Learning rate with `gpu_batch_size` (larger batches take fewer, larger steps); None uses
    `learning_rate`."""
    fine_tuning: FineTuning = "auto"
    """`full` trains every weight; `lora` trains low-rank adapters on every linear layer plus the
    classification head; `auto`: LoRA for decoder LLMs, full fine-tuning for encoders."""
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_learning_rate: float = 5e-4
    """Learning rate of LoRA trainings (adapters learn with larger steps than full weights); it
    replaces `learning_rate` and `gpu_learning_rate` when the adapters train."""
    gradient_checkpointing: bool | None = None
    """Recompute activations in the backward pass; None turns it on when a batch's activations
    would not fit in the free memory of the device."""
    export_onnx: bool = True
    """Write an int8 ONNX copy of the model next to it at the end (a few seconds on a CPU), so
    that CPU prediction runs on ONNX Runtime."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AcceptanceCriteria:
    """A model is registered only when its test scores meet these thresholds."""

    min_macro_f1: float = 0.80
    min_label_f1: float = 0.50

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """One progress report, sent to the callback after each logging step and each epoch."""

    step: int
    total_steps: int
    epoch: float
    """Fractional epochs done: 1.5 is half-way through the second epoch."""
    loss: float | None = None
    """Mean training loss of the steps since the previous report; None when none ran since."""
    validation: dict[str, float] | None = None
    """At an epoch's end, the validation `macro_f1` and `accuracy`."""
    eta_seconds: float | None = None
    phase: str = "training"
    """`reading`, `training`, `evaluating`, `logging` or `done`."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[Progress], None]
"""Hears each `Progress` report."""
StopCheck = Callable[[], bool]
"""Asked before each step; True cancels the training."""
EpochCallback = Callable[[int, dict[str, float]], None]
"""Hears each epoch's number and metrics (`train_loss`, `val_*`), e.g. to log them to MLflow."""
