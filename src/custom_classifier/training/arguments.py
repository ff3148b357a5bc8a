"""Training arguments, acceptance criteria, the progress record and the training callbacks,
with no torch import.

Each number's bounds are declared once, on its field (`Annotated[..., Interval(...)]`): the
dataclass checks them when it is built, and the API's schema (pydantic reads the same
annotations) shows and enforces them, so a request cannot queue 10**9 epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args, get_type_hints

from annotated_types import Interval
from pydantic import Strict

from custom_classifier.corpus.label_tree import Levels
from custom_classifier.errors import InvalidRequestError
from custom_classifier.limits import MAX_LABEL_DEPTH

LongDocumentStrategy = Literal["head", "chunks"]
FineTuning = Literal["auto", "full", "lora"]
Promotion = Literal["not_worse", "better"]
Mode = Literal["single", "multi", "auto"]
"""`single`: one label per document; `multi`: every label whose folder holds the document;
`auto`: `multi` when at least 1 % of the documents sit in more than one label folder."""
EvaluationMethod = Literal["auto", "kfold", "holdout"]

Count = Annotated[int, Strict()]
"""A whole number, never a boolean (`true` is not 1 epoch)."""
Flag = Annotated[bool, Strict()]
"""`true` or `false`, never 0, 1 or a string."""


@dataclass(frozen=True)
class TrainingArguments:
    """How a classifier is fine-tuned. Every field has a default chosen for the general case."""

    epochs: Annotated[Count, Interval(ge=1, le=1000)] = 8
    """Upper bound on passes over the training split; early stopping may end sooner.
    (Defaults measured in BENCHMARKS.md, "Choosing the training defaults".)"""
    learning_rate: Annotated[float, Interval(gt=0, le=1)] = 5e-5
    batch_size: Annotated[Count, Interval(ge=1, le=4096)] = 16
    """Windows per step on a CPU (and on a GPU when `gpu_batch_size` is None)."""
    max_length: Annotated[Count, Interval(ge=16, le=8192)] = 512
    """Tokens per window the model sees (512, the window of most BERT-family models)."""
    long_document_strategy: LongDocumentStrategy = "head"
    """`head` truncates each document; `chunks` uses overlapping windows whose logits are combined."""
    chunk_stride: Annotated[Count, Interval(ge=0, le=8192)] = 64
    """Tokens shared by two consecutive windows when `long_document_strategy` is `chunks`."""
    max_chunks_per_document: Annotated[Count, Interval(ge=1, le=1024)] = 8
    """Training uses at most this many windows of one document (prediction uses all)."""
    weight_decay: Annotated[float, Interval(ge=0, le=1)] = 0.01
    warmup_ratio: Annotated[float, Interval(ge=0, le=1)] = 0.1
    early_stopping_patience: Annotated[Count, Interval(ge=0, le=1000)] = 3
    """Epochs without a higher validation macro-F1 before training stops; a perfect macro-F1
    stops it at once. The validation loss only chooses among epochs of equal macro-F1."""
    attention_dropout: Annotated[float, Interval(ge=0, lt=1)] | None = 0.0
    """Dropout on attention probabilities while training; None keeps the base model's. 0 by
    default: with it, PyTorch's fused attention gives way to a slow path (a CPU training step at
    512 tokens took 7.6 s instead of 2.1 s here); hidden-state dropout still regularizes."""
    class_weighted_loss: Flag = True
    mixed_precision: Flag = True
    """bf16 autocast on CPUs that compute bf16 natively (AVX512-BF16 or AMX: 2-3x faster
    training); float32 on other CPUs. CUDA GPUs with bf16 always train in bf16 autocast."""
    seed: Annotated[Count, Interval(ge=0, le=2**32 - 1)] = 42
    depth: Annotated[Count, Interval(ge=1, le=MAX_LABEL_DEPTH)] | None = None
    """The level of nested label folders that becomes the labels: 1 the top-level folders (the
    documents of their sub-folders count for them), 2 their sub-folders (a folder without
    sub-folders stays a label), ...; None reads each requested folder as one label (flat)."""
    hierarchical: Flag = False
    """Train the deepest folders (or those at `depth`) and predict the path, with a score at
    each level: a parent's score is the sum of its children's (`path` in each prediction)."""
    validation_fraction: Annotated[float, Interval(ge=0, lt=1)] = 0.1
    test_fraction: Annotated[float, Interval(ge=0, lt=1)] = 0.1
    gpu_batch_size: Annotated[Count, Interval(ge=1, le=4096)] | None = 64
    """Windows per step on a CUDA GPU, where a step costs mostly launch overhead, so larger
    batches train faster; None uses `batch_size`."""
    gpu_learning_rate: Annotated[float, Interval(gt=0, le=1)] | None = 1e-4
    """Learning rate with `gpu_batch_size` (larger batches take fewer, larger steps); None uses
    `learning_rate`."""
    fine_tuning: FineTuning = "auto"
    """`full` trains every weight; `lora` trains low-rank adapters on every linear layer plus the
    classification head; `auto`: LoRA for decoder LLMs, full fine-tuning for encoders."""
    lora_rank: Annotated[Count, Interval(ge=1, le=1024)] = 16
    lora_alpha: Annotated[Count, Interval(ge=1, le=4096)] = 32
    lora_dropout: Annotated[float, Interval(ge=0, lt=1)] = 0.05
    lora_learning_rate: Annotated[float, Interval(gt=0, le=1)] = 5e-4
    """Learning rate of LoRA trainings (adapters learn with larger steps than full weights); it
    replaces `learning_rate` and `gpu_learning_rate` when the adapters train."""
    gradient_checkpointing: Flag | None = None
    """Recompute activations in the backward pass; None turns it on when a batch's activations
    would not fit in the free memory of the device."""
    export_onnx: Flag = True
    """Write an int8 ONNX copy of the model next to it at the end (a few seconds on a CPU), so
    that CPU prediction runs on ONNX Runtime."""
    mode: Mode = "auto"
    """`single` (one label per document; a text in two label folders is a conflict, left out),
    `multi` (it carries both labels: one sigmoid per label, thresholds tuned per label) or
    `auto` (`multi` when at least 1 % of the documents sit in several folders; the data report
    says which it chose)."""
    min_score: Annotated[float, Interval(ge=0, le=1)] = 0.0
    """Abstain threshold: a prediction whose calibrated score is below it answers no label
    (`"label": null, "abstained": true`, the scores still there). 0 never abstains."""
    evaluation: EvaluationMethod = "auto"
    """How the gate estimates the scores: `holdout` on the test split; `kfold` from stratified
    k-fold cross-validation over train+test (out-of-fold predictions; the final model still
    trains as usual); `auto` uses k-fold only when some label has fewer than 30 test documents
    and the folds fit `kfold_budget_seconds`."""
    folds: Annotated[Count, Interval(ge=2, le=20)] = 5
    kfold_budget_seconds: Annotated[Count, Interval(ge=0, le=86400)] | None = None
    """Under `auto`, the most seconds the folds may add (estimated from the final model's
    training, checked again after the first fold); None: the machine's
    (`CC_KFOLD_BUDGET_SECONDS`, 300)."""

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.hierarchical and self.mode == "multi":
            raise InvalidRequestError(
                "hierarchical and mode 'multi' cannot be combined: a hierarchical classifier "
                "gives each document one path of labels. Choose mode 'single' (or leave it "
                "out), or hierarchical false.",
                details={"field": "hierarchical"},
            )
        if self.hierarchical and self.mode == "auto":  # one path per document: single-label
            object.__setattr__(self, "mode", "single")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def levels(self) -> Levels:
        """The level of the label tree to read (`corpus.label_tree`)."""
        return Levels(depth=self.depth, hierarchical=self.hierarchical)


@dataclass(frozen=True)
class AcceptanceCriteria:
    """A model is registered only when its test scores meet these thresholds and it is not
    significantly worse than the TF-IDF baseline; it becomes `champion` only when it also
    passes the `promote` policy against the current champion."""

    min_macro_f1: Annotated[float, Interval(ge=0, le=1)] = 0.80
    min_label_f1: Annotated[float, Interval(ge=0, le=1)] = 0.50
    beat_baseline: Flag = True
    """Reject a model significantly worse than the TF-IDF baseline on the same test documents
    (paired bootstrap of the macro-F1 difference and McNemar's exact test)."""
    promote: Promotion = "not_worse"
    """When the classifier has a `champion`, the challenger is re-compared with it on the same
    test documents: `not_worse` promotes unless it is a significant regression, `better` only
    on a significant improvement. A model that passes the thresholds but not this policy is
    registered with the alias `challenger` and `champion` stays."""

    def __post_init__(self) -> None:
        check_bounds(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_bounds(arguments: object) -> None:
    """`InvalidRequestError` (expected, found, fix) for a field outside its declared `Interval`."""
    for name, (kind, interval) in _bounded_fields(type(arguments)).items():
        value = getattr(arguments, name)
        if value is None:
            continue
        expected = ("a whole number " if kind is int else "a number ") + _describe(interval)
        wrong_kind = kind is int and not isinstance(value, int)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or wrong_kind
            or not _inside(value, interval)
        ):
            raise InvalidRequestError(
                f"{name} must be {expected}; got {_shown(value)}. Pick a value in that range or leave "
                "it out for the default.",
                details={"field": name},
            )


def inclusive_bounds(cls: type, name: str) -> tuple[int | float, int | float]:
    """The lowest and highest value declared on a field (`ge`, `le`): for a CLI option."""
    _, interval = _bounded_fields(cls)[name]
    if interval.ge is None or interval.le is None:
        raise ValueError(f"{cls.__name__}.{name} has no inclusive bounds: {interval}")
    return interval.ge, interval.le  # type: ignore[return-value]


def declared_limits(cls: type, name: str) -> tuple[int | float, int | float]:
    """The two ends of a field's declared interval, each included or not (`ge` or `gt`, `le` or
    `lt`): for a form's `min` and `max`, whose values `check_bounds` then checks exactly."""
    _, interval = _bounded_fields(cls)[name]
    low = interval.ge if interval.ge is not None else interval.gt
    high = interval.le if interval.le is not None else interval.lt
    if low is None or high is None:
        raise ValueError(f"{cls.__name__}.{name} has no declared ends: {interval}")
    return low, high  # type: ignore[return-value]


def _bounded_fields(cls: type) -> dict[str, tuple[type, Interval]]:
    hints = get_type_hints(cls, include_extras=True)
    bounded = {}
    for item in fields(cls):
        for part in (hints[item.name], *get_args(hints[item.name])):
            intervals = [m for m in getattr(part, "__metadata__", ()) if isinstance(m, Interval)]
            if intervals:
                bounded[item.name] = (get_args(part)[0], intervals[0])
    return bounded


def _shown(value: object) -> str:
    """`repr`, except for an integer too long to print (Python refuses over 4300 digits)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return "a number with more than 19 digits"
    return repr(value)


def _inside(value: float, interval: Interval) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return (
        (interval.ge is None or value >= interval.ge)  # type: ignore[operator]
        and (interval.gt is None or value > interval.gt)  # type: ignore[operator]
        and (interval.le is None or value <= interval.le)  # type: ignore[operator]
        and (interval.lt is None or value < interval.lt)  # type: ignore[operator]
    )


def _describe(interval: Interval) -> str:
    low = f"at least {interval.ge}" if interval.ge is not None else f"more than {interval.gt}"
    high = f"at most {interval.le}" if interval.le is not None else f"less than {interval.lt}"
    return f"{low} and {high}"


class Phase(StrEnum):
    """Where a training stands, in the order it passes through them."""

    READING = "reading"
    """Steps count the files read."""
    PREPARING = "preparing"
    """The run, the model, the tokenized windows."""
    TRAINING = "training"
    EVALUATING = "evaluating"
    LOGGING = "logging"
    INT8 = "int8"
    """After registration: the int8 CPU file is made and checked; the exact model serves."""
    DONE = "done"


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
    phase: Phase = Phase.TRAINING
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def entering(cls, phase: Phase) -> Progress:
        """The report that a phase without steps has begun."""
        return cls(step=0, total_steps=0, epoch=0.0, phase=phase)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[Progress], None]
"""Hears each `Progress` report."""
StopCheck = Callable[[], bool]
"""Asked before each step; True cancels the training."""
EpochCallback = Callable[[int, dict[str, float]], None]
"""Hears each epoch's number and metrics (`train_loss`, `val_*`), e.g. to log them to MLflow."""
