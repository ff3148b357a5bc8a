"""Fine-tune a Hugging Face encoder into a document classifier with a plain PyTorch loop.

A plain loop rather than `transformers.Trainer`: the best weights are kept in memory (no
checkpoints on disk), the loss is class-weighted, batches are length-bucketed, and progress,
cancellation and per-epoch callbacks fit in without callback plumbing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import PreTrainedModel, get_linear_schedule_with_warmup, set_seed

from custom_classifier.corpus.models import Document, Split
from custom_classifier.errors import TrainingCancelledError, TrainingError
from custom_classifier.inference.text_classifier import (
    CLASSIFIER_FILE,
    cpu_has_bf16_units,
    default_device,
)
from custom_classifier.training import backbones
from custom_classifier.training.arguments import Progress, TrainingArguments
from custom_classifier.training.backbones import load_base_model
from custom_classifier.training.chunking import (
    attention_kernels,
    autocast_for,
    build_windows,
    document_probabilities,
    make_collator,
    window_logits,
)
from custom_classifier.training.early_stopping import EarlyStopping

ProgressCallback = Callable[[Progress], None]
StopCheck = Callable[[], bool]
EpochCallback = Callable[[int, dict[str, float]], None]

_BATCHES_PER_BUCKET = 50  # length-sorting happens within buckets of this many shuffled batches
_MAX_GRAD_NORM = 1.0
_GPU_MIN_LOG_EVERY = 10  # reading the loss waits for the GPU: not after every step


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


@dataclass(frozen=True)
class EncodedSplit:
    """The windows of a split's documents, tokenized once."""

    windows: list[np.ndarray]
    doc_index: np.ndarray
    """Document of each window."""
    doc_labels: np.ndarray
    """Label id of each document."""

    @property
    def window_labels(self) -> np.ndarray:
        return self.doc_labels[self.doc_index]


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
    processes: int = 1,
) -> FineTuneResult:
    """Fine-tune `base_model` on `split.train`, keep the epoch best on `split.validation`, save it.

    With `processes` > 1, that many data-parallel processes train together (one per GPU; see
    `data_parallel`). Raises `BaseModelError` when the base model cannot be loaded and
    `TrainingCancelledError` as soon as `should_stop()` returns true.
    """
    if processes > 1 and process_group()[1] == 1:
        from custom_classifier.training.data_parallel import fine_tune_data_parallel

        return fine_tune_data_parallel(
            processes,
            base_model,
            split,
            labels,
            args,
            output_dir,
            on_progress=on_progress,
            should_stop=should_stop,
            on_epoch_end=on_epoch_end,
        )
    started = time.monotonic()
    set_seed(args.seed)
    device = _process_device(process_group()[1])
    tokenizer, model = _load_backbone(base_model, labels, args, device)
    _check_max_length(model, args.max_length)
    train = encode_documents(
        tokenizer, split.train, labels, args, max_windows=args.max_chunks_per_document
    )
    if not train.windows:
        raise TrainingError("the training split has no documents; at least one per label is needed")
    validation = encode_documents(tokenizer, split.validation, labels, args)
    loop = _TrainingLoop(model, tokenizer, args, train, validation, on_progress, should_stop)
    history, best_epoch = loop.run(on_epoch_end)
    model_dir = Path(output_dir) / "model"
    adapter_dir = (
        Path(output_dir) / backbones.ADAPTER_FOLDER if backbones.is_lora_model(model) else None
    )
    if loop.rank == 0:  # under data-parallel training, the first process writes the model
        served = backbones.merge_for_serving(model, adapter_dir, base_model)
        save_classifier(served, tokenizer, labels, args, model_dir)
        if args.export_onnx:
            from custom_classifier.training.onnx_export import export_onnx

            export_onnx(model_dir)
    if loop.world > 1:
        torch.distributed.barrier()  # the folder is complete for every process
    elapsed = time.monotonic() - started
    return FineTuneResult(model_dir, history, best_epoch, elapsed, adapter_dir)


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
    )
    checkpointing = args.gradient_checkpointing
    if checkpointing is None:
        batch_size, _ = batch_policy(args, device)
        checkpointing = backbones.needs_gradient_checkpointing(
            model.config,
            batch_size,
            args.max_length,
            value_bytes=2 if device.type == "cuda" or _cpu_bf16(args) else 4,
            free_bytes=backbones.free_memory_bytes(device),
        )
    if checkpointing:
        backbones.enable_gradient_checkpointing(model)
    if lora:
        model = backbones.add_lora_adapters(model, args)
    return tokenizer, model


def _cpu_bf16(args: TrainingArguments) -> bool:
    return args.mixed_precision and cpu_has_bf16_units()


def process_group() -> tuple[int, int]:
    """(rank, world size) under `torch.distributed` (torchrun, a spawned group); else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _process_device(world: int) -> torch.device:
    if world > 1 and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return default_device()


def shard_batches(batches: list[np.ndarray], rank: int, world: int) -> list[np.ndarray]:
    """This process's share of an epoch's batches; every process gets as many (some repeat),
    so that the gradient all-reduce of each step has a partner on every process."""
    if world == 1:
        return batches
    mine = batches[rank::world]
    needed = -(-len(batches) // world)
    return (mine + mine[: needed - len(mine)]) if mine else batches[:needed]


def batch_policy(
    args: TrainingArguments, device: torch.device, *, lora: bool = False
) -> tuple[int, float]:
    """Batch size and learning rate for `device`: the GPU ones on a CUDA GPU, when set; LoRA
    adapters learn at `lora_learning_rate`."""
    if device.type == "cuda" and args.gpu_batch_size:
        batch_size, learning_rate = (
            args.gpu_batch_size,
            args.gpu_learning_rate or args.learning_rate,
        )
    else:
        batch_size, learning_rate = args.batch_size, args.learning_rate
    return batch_size, args.lora_learning_rate if lora else learning_rate


class WindowBank:
    """Every training window padded once into one tensor on the device, with labels and lengths.

    A step then gathers its rows on the device: no per-step tokenizer padding, no host copies.
    """

    def __init__(self, split: EncodedSplit, pad_id: int, device: torch.device) -> None:
        self.lengths = np.asarray([len(w) for w in split.windows], dtype=np.int64)
        width = int(self.lengths.max())
        ids = np.full((len(split.windows), width), pad_id, dtype=np.int32)
        for row, window in enumerate(split.windows):
            ids[row, : len(window)] = window
        self.device = device
        self.ids = torch.from_numpy(ids).to(device)
        self.length_tensor = torch.from_numpy(self.lengths).to(device)
        self.labels = torch.from_numpy(split.window_labels).to(device)
        # Few distinct widths on a GPU: kernels tuned per shape (cuBLAS, attention) stay warm.
        self._multiple = 64 if device.type == "cuda" else 1

    def batch(
        self, rows: np.ndarray, rows_on_device: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Model inputs and targets of `rows`; no attention mask when no row is padded."""
        lengths = self.lengths[rows]
        longest = int(lengths.max())
        inputs: dict[str, torch.Tensor] = {}
        if int(lengths.min()) == longest:
            width = longest
        else:
            width = min(-(-longest // self._multiple) * self._multiple, self.ids.shape[1])
            positions = torch.arange(width, device=self.device)
            inputs["attention_mask"] = (
                positions[None, :] < self.length_tensor[rows_on_device][:, None]
            ).long()
        inputs["input_ids"] = self.ids[rows_on_device, :width].long()
        return inputs, self.labels[rows_on_device]


def _check_max_length(model: PreTrainedModel, max_length: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and max_length > limit:
        raise TrainingError(
            f"max_length is {max_length} tokens but the base model reads at most {limit}; "
            f"set max_length to {limit} or less (use long_document_strategy 'chunks' for long texts)"
        )


def encode_documents(
    tokenizer: Any,
    documents: Sequence[Document],
    labels: Sequence[str],
    args: TrainingArguments,
    *,
    max_windows: int | None = None,
) -> EncodedSplit:
    """Tokenize documents into windows as `args.long_document_strategy` says."""
    label_ids = {label: i for i, label in enumerate(labels)}
    unknown = sorted({d.label for d in documents} - label_ids.keys())
    if unknown:
        raise TrainingError(
            f"documents have labels {unknown} that are not among the requested labels {list(labels)}"
        )
    windows, doc_index = build_windows(
        tokenizer,
        [d.text for d in documents],
        max_length=args.max_length,
        strategy=args.long_document_strategy,
        stride=args.chunk_stride,
        max_windows=max_windows if args.long_document_strategy == "chunks" else None,
    )
    doc_labels = np.asarray([label_ids[d.label] for d in documents], dtype=np.int64)
    return EncodedSplit(windows, doc_index, doc_labels)


def class_weights(label_ids: np.ndarray, num_labels: int) -> np.ndarray:
    """`n / (num_labels * count)` per label, so each label weighs the same in the loss.

    A label with no training sample gets weight 1 (it never appears as a target).
    """
    counts = np.bincount(label_ids, minlength=num_labels).astype(np.float64)
    weights = np.ones(num_labels, dtype=np.float64)
    present = counts > 0
    weights[present] = len(label_ids) / (num_labels * counts[present])
    return weights


def shuffled_length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Random batches of similar-length samples: sorted within shuffled buckets, then shuffled."""
    order = rng.permutation(len(lengths))
    bucket_size = batch_size * _BATCHES_PER_BUCKET
    batches: list[np.ndarray] = []
    for start in range(0, len(order), bucket_size):
        bucket = order[start : start + bucket_size]
        bucket = bucket[np.argsort(lengths[bucket], kind="stable")]
        batches.extend(bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def save_classifier(
    model: PreTrainedModel,
    tokenizer: Any,
    labels: Sequence[str],
    args: TrainingArguments,
    path: Path,
) -> Path:
    """Write the HF model (safetensors), its tokenizer and `classifier.json` into `path`."""
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    settings = {
        "labels": list(labels),
        "max_length": args.max_length,
        "long_document_strategy": args.long_document_strategy,
        "chunk_stride": args.chunk_stride,
        "kind": backbones.model_kind(model.config),
    }
    (path / CLASSIFIER_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return path


class _TrainingLoop:
    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        args: TrainingArguments,
        train: EncodedSplit,
        validation: EncodedSplit,
        on_progress: ProgressCallback | None,
        should_stop: StopCheck | None,
    ) -> None:
        self.rank, self.world = process_group()
        self.device = _process_device(self.world)
        self.model = model
        model.to(self.device)  # type: ignore[arg-type]  # transformers types `to` oddly
        self.network: torch.nn.Module = model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.network = DistributedDataParallel(model, device_ids=ids)
        self.collator = make_collator(tokenizer, self.device)
        self.cpu_bf16 = _cpu_bf16(args)
        self.args, self.train, self.validation = args, train, validation
        self.on_progress, self.should_stop = on_progress, should_stop
        self.num_labels = int(model.config.num_labels or 0)
        pad_id = tokenizer.pad_token_id
        self.bank = WindowBank(train, 0 if pad_id is None else int(pad_id), self.device)
        self.train_lengths = self.bank.lengths
        self.train_labels = train.window_labels
        self.batch_size, learning_rate = batch_policy(
            args, self.device, lora=backbones.is_lora_model(model)
        )
        self.batches_per_epoch = -(-len(train.windows) // (self.batch_size * self.world))
        self.total_steps = self.batches_per_epoch * args.epochs
        self.log_every = max(1, min(20, self.total_steps // 100))
        if self.device.type == "cuda":
            self.log_every = max(self.log_every, _GPU_MIN_LOG_EVERY)
        self.optimizer = _adamw(model, args, learning_rate)
        self.scheduler = get_linear_schedule_with_warmup(
            self.optimizer, round(args.warmup_ratio * self.total_steps), self.total_steps
        )
        weight = None
        if args.class_weighted_loss:
            weights = class_weights(self.train_labels, self.num_labels)
            weight = torch.tensor(weights, dtype=torch.float32, device=self.device)
        self.loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        self.step = 0
        self._interval_sum = torch.zeros((), device=self.device)
        self._interval_steps = 0
        self.started = time.monotonic()

    def run(self, on_epoch_end: EpochCallback | None) -> tuple[list[dict[str, float]], int]:
        """Train epoch by epoch; stop early; restore the best epoch's weights."""
        history: list[dict[str, float]] = []
        stopping = EarlyStopping(self.args.early_stopping_patience)
        best_state: dict[str, torch.Tensor] | None = None
        for epoch in range(1, self.args.epochs + 1):
            metrics = self._agreed({"train_loss": self._train_epoch(epoch), **self._validate()})
            history.append({"epoch": float(epoch), **metrics})
            self._report(float(epoch), self._interval_loss(), metrics)
            if on_epoch_end is not None:
                on_epoch_end(epoch, metrics)
            if stopping.update(epoch, metrics):
                best_state = backbones.trainable_state(self.model)
            if stopping.should_stop:
                break
        if best_state is not None and stopping.best_epoch != len(history):
            backbones.restore_trainable_state(self.model, best_state)
        return history, stopping.best_epoch

    def _agreed(self, metrics: dict[str, float]) -> dict[str, float]:
        """Rank 0's epoch metrics on every rank, so all make the same early-stopping choice."""
        if self.world == 1:
            return metrics
        shared = [metrics]
        torch.distributed.broadcast_object_list(shared, src=0)
        return shared[0]

    def _train_epoch(self, epoch: int) -> float:
        self.model.train()
        rng = np.random.default_rng(self.args.seed + epoch)
        running = torch.zeros((), device=self.device)
        batches = shuffled_length_batches(self.train_lengths, self.batch_size, rng)
        batches = shard_batches(batches, self.rank, self.world)
        # One host-to-device copy of the epoch's row order; each step slices it.
        order = torch.from_numpy(np.concatenate(batches)).to(self.device)
        offsets = np.cumsum([0] + [len(b) for b in batches])
        for done, batch in enumerate(batches, start=1):
            self._check_cancelled()
            rows = order[offsets[done - 1] : offsets[done]]
            loss = self._train_step(batch, rows)
            running += loss
            self._interval_sum += loss
            self._interval_steps += 1
            self.step += 1
            if self.step % self.log_every == 0:
                self._report(epoch - 1 + done / self.batches_per_epoch, self._interval_loss())
        return float(running) / max(len(batches), 1)

    def _interval_loss(self) -> float | None:
        """Mean loss of the steps since the last report (None if none), so that a curve of
        these points shows the loss as it is, without the running mean's jump at each epoch."""
        if not self._interval_steps:
            return None
        loss = float(self._interval_sum) / self._interval_steps
        self._interval_sum = torch.zeros((), device=self.device)
        self._interval_steps = 0
        return loss

    def _train_step(self, batch: np.ndarray, rows: torch.Tensor) -> torch.Tensor:
        inputs, targets = self.bank.batch(batch, rows)
        with autocast_for(self.device, cpu_bf16=self.cpu_bf16), attention_kernels(self.device):
            logits = self.network(**inputs).logits
        loss = self.loss_fn(logits.float(), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), _MAX_GRAD_NORM)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def _validate(self) -> dict[str, float]:
        """Document-level scores on the validation split (window logits averaged per document)."""
        if not self.validation.windows:
            return {}
        self.model.eval()
        logits = window_logits(
            self.model,
            self.collator,
            self.validation.windows,
            batch_size=self.batch_size * 2,
            device=self.device,
            cpu_bf16=self.cpu_bf16,
        )
        truth = self.validation.doc_labels
        probabilities = document_probabilities(logits, self.validation.doc_index, len(truth))
        predicted = probabilities.argmax(axis=1)
        true_probability = probabilities[np.arange(len(truth)), truth]
        return {
            "val_macro_f1": float(
                f1_score(
                    truth,
                    predicted,
                    labels=list(range(self.num_labels)),
                    average="macro",
                    zero_division=0,
                )
            ),
            "val_accuracy": float(accuracy_score(truth, predicted)),
            "val_loss": float(-np.log(np.clip(true_probability, 1e-12, None)).mean()),
        }

    def _check_cancelled(self) -> None:
        stop = self.should_stop is not None and self.should_stop()
        if self.world > 1:
            # Only rank 0 hears the caller; every rank learns it at the same step, so no rank
            # is left waiting in a collective for one that has stopped.
            if self.step % self.log_every:
                return
            flag = torch.tensor(float(stop), device=self.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            stop = bool(flag.item())
        if stop:
            raise TrainingCancelledError(
                f"training was cancelled at step {self.step} of {self.total_steps}"
            )

    def _report(
        self, epoch: float, loss: float | None, metrics: dict[str, float] | None = None
    ) -> None:
        if self.on_progress is None:
            return
        validation = None
        if metrics and "val_macro_f1" in metrics:
            validation = {
                "macro_f1": metrics["val_macro_f1"],
                "accuracy": metrics["val_accuracy"],
            }
        elapsed = time.monotonic() - self.started
        remaining = self.total_steps - self.step
        eta = elapsed / self.step * remaining if self.step else None
        self.on_progress(
            Progress(
                step=self.step,
                total_steps=self.total_steps,
                epoch=round(epoch, 4),
                loss=loss,
                validation=validation,
                eta_seconds=eta,
            )
        )


def _adamw(
    model: PreTrainedModel, args: TrainingArguments, learning_rate: float
) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and normalization weights."""
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        skip = parameter.ndim < 2 or "norm" in name.lower()
        (no_decay if skip else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": args.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = next(model.parameters()).device.type == "cuda"
    return torch.optim.AdamW(groups, lr=learning_rate, fused=fused)
