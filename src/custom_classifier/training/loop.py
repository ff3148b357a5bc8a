"""The training loop: epochs of class-weighted, length-bucketed steps, validation after each,
early stopping on validation macro-F1, the best epoch's weights kept in memory."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, get_linear_schedule_with_warmup

from custom_classifier.errors import TrainingCancelledError
from custom_classifier.inference.text_classifier import (
    cpu_has_bf16_units,
    document_logits,
    pad_id_of,
)
from custom_classifier.training import (
    backbones,
    compile_payoff,
    distributed,
    packing,
    step_graphs,
)
from custom_classifier.training.arguments import (
    EpochCallback,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingArguments,
)
from custom_classifier.training.chunking import (
    attention_kernels,
    autocast_for,
    document_probabilities,
    unmasked_attention,
    window_logits,
)
from custom_classifier.training.compiled_layers import (
    CompiledLayers,
    CompiledPackedLayer,
    repeated_layers,
)
from custom_classifier.training.early_stopping import EarlyStopping
from custom_classifier.training.evaluation import evaluate_multilabel, evaluate_predictions
from custom_classifier.training.memory import trim_heap
from custom_classifier.training.micro_batches import (
    CPU_STEP_TOKENS,
    loss_denominator,
    micro_batch_size,
    micro_batches,
    summed_loss,
)
from custom_classifier.training.thresholds import DEFAULT_THRESHOLD, sigmoid
from custom_classifier.training.token_batches import TokenBudget
from custom_classifier.training.windows import (
    EncodedSplit,
    WindowBank,
    batch_policy,
    class_weights,
    positive_weights,
    shuffled_length_batches,
)

logger = logging.getLogger(__name__)

_MAX_GRAD_NORM = 1.0
_GPU_MIN_LOG_EVERY = 10  # reading the loss waits for the GPU: not after every step


class TrainingLoop:
    """One training run of `model` on encoded windows, in this process (one rank of several
    under data-parallel training)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        args: TrainingArguments,
        train: EncodedSplit,
        validation: EncodedSplit,
        labels: Sequence[str],
        on_progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> None:
        self.rank, self.world = distributed.process_group()
        self.device = distributed.process_device(self.world)
        self.model = model
        model.to(self.device)  # type: ignore[arg-type]  # transformers types `to` oddly
        self.network = distributed.wrap_model(model, self.device, self.world)
        self.cpu_bf16 = uses_cpu_bf16(args)
        self.args, self.train, self.validation = args, train, validation
        self.labels = list(labels)
        self.on_progress, self.should_stop = on_progress, should_stop
        self.pad_id = pad_id_of(tokenizer)
        levers = step_graphs.LEVERS
        causal = levers.causal_without_mask and backbones.model_kind(model.config) == "decoder"
        self.bank = WindowBank(train, self.pad_id, self.device, causal=causal)
        self.forward_options = backbones.training_forward_options(model.config)
        self.packed = levers.packed_windows and self._can_pack(model)
        lora = backbones.is_lora_model(model)
        self.batch_size, learning_rate = batch_policy(args, self.device, lora=lora)
        self.multi_label = args.mode == "multi"
        self.budget = self._token_budget(levers)
        self.batches_per_epoch = self._batches_per_epoch()
        self.total_steps = self.batches_per_epoch * args.epochs
        self.log_every = max(1, min(20, self.total_steps // 100))
        if self.device.type == "cuda":
            self.log_every = max(self.log_every, _GPU_MIN_LOG_EVERY)
        # Graphs replay one process's steps (under data-parallel training each step all-reduces),
        # LoRA steps and packed ones (one shape by token budget, or token counts rounded to few
        # shapes); padded steps
        # of a small encoder stay eager: on BBC, capturing their many shapes cost more than it
        # saved (BENCHMARKS.md).
        graphed = (lora or self.packed) and levers.cuda_graphs
        graphed = graphed and self.device.type == "cuda" and self.world == 1
        liger = self.device.type == "cuda" and backbones.speed_up_for_gpu(model, levers)
        if levers.frozen_word_embeddings and self.packed:
            backbones.freeze_word_embeddings(model)
        self.optimizer = _adamw(model, args, learning_rate, capturable=graphed)
        self.scheduler = get_linear_schedule_with_warmup(
            self.optimizer, round(args.warmup_ratio * self.total_steps), self.total_steps
        )
        self.loss_fn = self._loss_function()
        self.step_tokens = CPU_STEP_TOKENS if self.device.type == "cpu" else None  # micro-batches
        self.step = 0
        self._interval_sum = torch.zeros((), device=self.device)
        self._interval_steps = 0
        self._next_epoch: tuple[int, tuple[list[np.ndarray], list[torch.Tensor]]] | None = None
        self.compiled = self._compiled_code(levers, lora=lora, graphed=graphed, liger=liger)
        self.packed_layer: packing.PackedLayer = packing.packed_layer
        if isinstance(self.compiled, CompiledPackedLayer):
            self.packed_layer = self.compiled
        self.graphs = None
        if graphed:
            self.graphs = step_graphs.StepGraphs(
                self._packed_step if self.packed else self._device_step,
                self.device,
                warm_up_each_shape=(
                    levers.warm_up_each_shape or self.compiled is not None or liger
                ),
            )
        self.started = time.monotonic()

    def _compiled_code(
        self, levers: step_graphs.SpeedLevers, *, lora: bool, graphed: bool, liger: bool
    ) -> CompiledLayers | CompiledPackedLayer | None:
        """Compiled decoder layers (LoRA) or packed encoder layers, where the levers ask for
        them: on one CUDA GPU only."""
        if self.device.type != "cuda" or self.world != 1:
            return None
        job = self.lora_job(graphed=graphed, liger=liger) if lora else None
        if job is not None and compile_payoff.use_compiled_layers(levers.compiled_layers, job):
            return CompiledLayers(self.model)
        if levers.compiled_packed_layers and self.packed:
            return CompiledPackedLayer()
        return None

    def lora_job(self, *, graphed: bool, liger: bool) -> compile_payoff.LoraJob:
        """This job as `compile_payoff` reads it: its tokens over the epochs early stopping
        cannot cut, its model and how its steps run."""
        epochs = compile_payoff.epochs_early_stopping_cannot_cut(
            self.args.epochs,
            self.args.early_stopping_patience,
            validating=bool(self.validation.windows),
        )
        config = self.model.config
        cuda = self.device.type == "cuda"
        return compile_payoff.LoraJob(
            tokens=int(self.bank.lengths.sum()) * epochs,
            compiled_layers=max(0, len(repeated_layers(self.model)) - 1),
            hidden_size=int(getattr(config, "hidden_size", 0) or 0),
            compute_capability=torch.cuda.get_device_capability(self.device) if cuda else None,
            decoder=backbones.model_kind(config) == "decoder",
            cuda_graphs=graphed,
            liger_kernels=liger,
            gradient_checkpointing=bool(getattr(self.model, "is_gradient_checkpointing", False)),
        )

    def _can_pack(self, model: PreTrainedModel) -> bool:
        reason = packing.why_not_packed(model, self.device, world=self.world)
        if reason is not None and self.device.type == "cuda":
            logger.info("training batches stay padded: %s", reason)
        return reason is None

    def _token_budget(self, levers: step_graphs.SpeedLevers) -> TokenBudget | None:
        """Batches by token budget (`SpeedLevers.token_budget_batches`), for packed steps of
        a single-label model: the cross-entropy ignores empty window slots' targets, and
        the multi-label loss has no such target."""
        budgeted = levers.token_budget_batches and self.packed and not self.multi_label
        if not budgeted or not len(self.bank.lengths):
            return None
        return TokenBudget.for_windows(self.bank.lengths, self.batch_size)

    def _batches_per_epoch(self) -> int:
        if self.budget is not None:
            return self.budget.batches
        return -(-len(self.train.windows) // (self.batch_size * self.world))

    def _loss_function(self) -> torch.nn.Module:
        """Cross-entropy, or one sigmoid per label (multi-label); weighted as `_loss_weights` says."""
        if self.multi_label:
            return torch.nn.BCEWithLogitsLoss(pos_weight=self._loss_weights())
        return torch.nn.CrossEntropyLoss(weight=self._loss_weights())

    def _loss_weights(self) -> torch.Tensor | None:
        """Class weights (single-label) or BCE's positive weights (multi-label)."""
        if not self.args.class_weighted_loss:
            return None
        if self.args.mode == "multi":
            weights = positive_weights(self.train.window_labels)
        else:
            weights = class_weights(self.train.window_labels, len(self.labels))
        return torch.tensor(weights, dtype=torch.float32, device=self.device)

    def run(self, on_epoch_end: EpochCallback | None) -> tuple[list[dict[str, float]], int]:
        """Train epoch by epoch; stop early; restore the best epoch's weights."""
        if self._metrics_read_each_epoch(on_epoch_end):
            return self._run_observed(on_epoch_end)
        return self._run_unobserved()

    def _metrics_read_each_epoch(self, on_epoch_end: EpochCallback | None) -> bool:
        """Whether anything reads an epoch's metrics before the next epoch: validation and early
        stopping, the callbacks, or the other processes (which take rank 0's metrics)."""
        observers = (on_epoch_end, self.on_progress)
        return bool(self.validation.windows) or self.world > 1 or any(observers)

    def _run_unobserved(self) -> tuple[list[dict[str, float]], int]:
        """Every epoch, the last one kept (no validation); the epochs' losses read at the end.

        What `_run_observed` does without validation or callbacks, less its reads of each
        epoch's loss and its copies of each epoch's weights: each waited for the GPU to finish
        the epoch's steps, then left it idle while the host prepared the next epoch. On one
        H200, MiniLM at batch 128 held 2.07M tokens/s steady on BBC against 1.84-1.85M before,
        and 1.90M when each epoch's metrics are read (BENCHMARKS.md, "Epoch boundaries")."""
        losses = []
        for epoch in range(1, self.args.epochs + 1):
            losses.append(self._train_epoch(epoch))
            trim_heap()  # as `_run_observed` does; host work while the GPU runs queued steps
        history = [
            {"epoch": float(epoch), "train_loss": loss.mean()}
            for epoch, loss in enumerate(losses, start=1)
        ]
        return history, self.args.epochs

    def _run_observed(
        self, on_epoch_end: EpochCallback | None
    ) -> tuple[list[dict[str, float]], int]:
        history: list[dict[str, float]] = []
        stopping = EarlyStopping(self.args.early_stopping_patience)
        best_state: dict[str, torch.Tensor] | None = None
        self._report(0.0, None)  # the step total, before the first steps take their time
        for epoch in range(1, self.args.epochs + 1):
            metrics = {"train_loss": self._train_epoch(epoch).mean(), **self._validate()}
            # Between epochs only: trimming every 32 steps did not lower the peak (the heap's
            # free holes grow back within a step or two; BENCHMARKS.md, training memory). No
            # garbage collection: an epoch's activations are freed by reference counting.
            trim_heap()
            metrics = distributed.rank_zero_metrics(metrics, self.world)
            history.append({"epoch": float(epoch), **metrics})
            self._report(float(epoch), self._interval_loss(), metrics)
            if on_epoch_end is not None:
                on_epoch_end(epoch, metrics)
            best = stopping.update(epoch, metrics)
            # The last epoch's weights are the model's own: no copy to restore them from.
            if best and not (stopping.should_stop or epoch == self.args.epochs):
                best_state = backbones.trainable_state(self.model)
            if stopping.should_stop:
                break
        if best_state is not None and stopping.best_epoch != len(history):
            backbones.restore_trainable_state(self.model, best_state)
        return history, stopping.best_epoch

    def _train_epoch(self, epoch: int) -> EpochLoss:
        """The epoch's steps, queued on the device; then the next epoch's batches, planned and
        copied while the device still runs these steps (no wait for it here)."""
        self.model.train()
        running = torch.zeros((), device=self.device)
        batches, rows_on_device = self._batches_of_epoch(epoch)
        for done, (batch, rows) in enumerate(zip(batches, rows_on_device, strict=True), start=1):
            self._check_cancelled()
            loss = self._train_step(batch, rows)
            running += loss
            self.step += 1
            if self.on_progress is None:
                continue  # nothing reads the interval's loss: no wait for the device
            self._interval_sum += loss
            self._interval_steps += 1
            if self.step % self.log_every == 0:
                self._report(epoch - 1 + done / self.batches_per_epoch, self._interval_loss())
        if epoch < self.args.epochs:
            self._next_epoch = (epoch + 1, self._epoch_batches(epoch + 1))
        return EpochLoss(running, len(batches))

    def _batches_of_epoch(self, epoch: int) -> tuple[list[np.ndarray], list[torch.Tensor]]:
        """`_epoch_batches(epoch)`, prepared by the epoch before if it did."""
        if self._next_epoch is not None and self._next_epoch[0] == epoch:
            batches, self._next_epoch = self._next_epoch[1], None
            return batches
        return self._epoch_batches(epoch)

    def _epoch_batches(self, epoch: int) -> tuple[list[np.ndarray], list[torch.Tensor]]:
        """The epoch's batches (their rows, on the host) and each one's rows on the device,
        copied there in one go; a token-budget batch's with its empty slots."""
        rng = np.random.default_rng(self.args.seed + epoch)
        if self.budget is not None:
            batches = self.budget.plan(self.bank.lengths, rng)
            slots = self.budget.slot_rows(batches, self.bank.empty_row)
            return batches, list(self._to_device(slots))
        batches = shuffled_length_batches(self.bank.lengths, self.batch_size, rng)
        batches = distributed.shard_batches(batches, self.rank, self.world)
        order = self._to_device(np.concatenate(batches))
        ends = np.cumsum([len(b) for b in batches])
        return batches, [order[end - len(b) : end] for b, end in zip(batches, ends, strict=True)]

    def _to_device(self, rows: np.ndarray) -> torch.Tensor:
        """`rows` on the device, copied behind the steps already queued without waiting for
        them: a copy from pageable memory would wait (PyTorch synchronizes after it), one from
        page-locked memory need not."""
        host = torch.from_numpy(rows)
        if self.device.type != "cuda":
            return host.to(self.device)
        return host.pin_memory().to(self.device, non_blocking=True)

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
        key: step_graphs.StepKey
        if self.budget is not None:
            key, step = self.budget.key(int(self.bank.lengths[batch].sum())), self._packed_step
        elif self.packed:
            key = self.bank.packed_key(batch, fixed_shapes=self.graphs is not None)
            step = self._packed_step
        else:
            width, masked = self.bank.shape(batch)
            key, step = (len(batch), width, masked), self._device_step
        loss = step(rows, key) if self.graphs is None else self.graphs(rows, key)
        self.scheduler.step()
        return loss

    def _packed_step(self, rows: torch.Tensor, key: step_graphs.StepKey) -> torch.Tensor:
        """`_device_step` on `rows` packed end to end: no padding, flash attention."""
        return self._with_fallback(self._packed_step_once, rows, key)

    def _packed_step_once(self, rows: torch.Tensor, key: step_graphs.StepKey) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        packed, targets = self.bank.packed(rows, key)
        autocast = autocast_for(self.device, cpu_bf16=self.cpu_bf16, cache=self.graphs is None)
        with autocast:
            logits = packing.packed_logits(self.model, packed, layer_forward=self.packed_layer)
        return self._optimize(logits, targets)

    def _device_step(self, rows: torch.Tensor, key: step_graphs.StepKey) -> torch.Tensor:
        """Forward, backward, clipping and the optimizer step of `rows`: device work only (a
        CUDA graph may capture it), the learning rate read from the optimizer's tensors."""
        return self._with_fallback(self._step_once, rows, key)

    def _with_fallback(
        self, step: step_graphs.Step, rows: torch.Tensor, key: step_graphs.StepKey
    ) -> torch.Tensor:
        """`step`, through compiled layers if any (eager ones again if those fail)."""
        if self.compiled is None:
            return step(rows, key)
        return self.compiled.run(step, rows, key)

    def _step_once(self, rows: torch.Tensor, key: step_graphs.StepKey) -> torch.Tensor:
        _, width, masked = key
        self.optimizer.zero_grad(set_to_none=True)
        if self.step_tokens is not None:
            return self._accumulated_step(rows, width, bool(masked), self.step_tokens)
        inputs, targets = self.bank.gather(rows, width, bool(masked))
        return self._optimize(self._logits(inputs), targets)

    def _logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        # A captured step must not keep autocast's cast weights between replays.
        autocast = autocast_for(self.device, cpu_bf16=self.cpu_bf16, cache=self.graphs is None)
        # A decoder's batch without mask: no causal mask built either, also in a capture.
        causal = unmasked_attention(self.model, causal=True) if self.bank.causal else nullcontext()
        with autocast, attention_kernels(self.device), causal:
            return self.network(**inputs, **self.forward_options).logits

    def _accumulated_step(
        self, rows: torch.Tensor, width: int, masked: bool, max_tokens: int
    ) -> torch.Tensor:
        """`rows` in micro-batches of at most `max_tokens` padded tokens, each one's backward
        before the next's forward, then one optimizer step: the whole batch's gradient (each
        micro-batch's summed loss over the batch's `loss_denominator`), one micro-batch's
        activations held at a time. The batch's mean loss, detached."""
        denominator = loss_denominator(self.loss_fn, self.bank.labels[rows])
        summed, total = summed_loss(self.loss_fn), torch.zeros((), device=self.device)
        for part in micro_batches(rows, micro_batch_size(width, len(rows), max_tokens)):
            inputs, targets = self.bank.gather(part, width, masked)
            loss = summed(self._logits(inputs).float(), targets) / denominator
            loss.backward()
            total += loss.detach()
        return self._clip_and_step(total)

    def _optimize(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss of `logits`, backward, clipping and the optimizer step; the loss detached."""
        loss = self.loss_fn(logits.float(), targets)
        loss.backward()
        return self._clip_and_step(loss.detach())

    def _clip_and_step(self, loss: torch.Tensor) -> torch.Tensor:
        """Clipping and the optimizer step of the gradients `loss` left; `loss` back."""
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), _MAX_GRAD_NORM)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss

    def _validate(self) -> dict[str, float]:
        """Document-level scores on the validation split (window logits averaged per document)."""
        if not self.validation.windows:
            return {}
        self.model.eval()
        with nullcontext() if self.compiled is None else self.compiled.running_eagerly():
            logits = window_logits(
                self.model,
                self.validation.windows,
                pad_id=self.pad_id,
                batch_size=self.batch_size * 2,
                device=self.device,
                cpu_bf16=self.cpu_bf16,
            )
        truth = self.validation.doc_labels
        if self.multi_label:
            return self._validate_multilabel(logits, truth)
        probabilities = document_probabilities(logits, self.validation.doc_index, len(truth))
        evaluation = evaluate_predictions(
            [self.labels[i] for i in truth],
            [self.labels[i] for i in probabilities.argmax(axis=1)],
            self.labels,
        )
        true_probability = probabilities[np.arange(len(truth)), truth]
        return {
            "val_macro_f1": evaluation.macro_f1,
            "val_accuracy": evaluation.accuracy,
            "val_loss": float(-np.log(np.clip(true_probability, 1e-12, None)).mean()),
        }

    def _validate_multilabel(self, logits: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        """Scores at the default threshold (the tuned ones come after training, in the gate)
        and the mean binary cross-entropy, unweighted."""
        mean_logits = document_logits(logits, self.validation.doc_index, len(truth))
        probabilities = sigmoid(mean_logits)
        predicted = probabilities >= DEFAULT_THRESHOLD

        def names(rows: np.ndarray) -> list[list[str]]:
            return [[self.labels[i] for i in np.flatnonzero(row)] for row in rows]

        evaluation = evaluate_multilabel(names(truth > 0), names(predicted), self.labels)
        clipped = np.clip(probabilities, 1e-12, 1 - 1e-12)
        loss = -(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped)).mean()
        return {
            "val_macro_f1": evaluation.macro_f1,
            "val_accuracy": evaluation.accuracy,
            "val_micro_f1": float(evaluation.micro_f1 or 0.0),
            "val_loss": float(loss),
        }

    def _check_cancelled(self) -> None:
        stop = self.should_stop is not None and self.should_stop()
        if self.world > 1 and self.step % self.log_every:
            return  # processes agree only every `log_every` steps: an all-reduce costs a sync
        if distributed.any_process_stops(stop, self.device, self.world):
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


@dataclass(frozen=True)
class EpochLoss:
    """An epoch's summed step losses, still on the device, and its step count."""

    total: torch.Tensor
    steps: int

    def mean(self) -> float:
        """The mean step loss (reading it waits for the epoch's last step)."""
        return float(self.total) / max(self.steps, 1)


def uses_cpu_bf16(args: TrainingArguments) -> bool:
    """bf16 autocast on this CPU: asked for, and computed natively."""
    return args.mixed_precision and cpu_has_bf16_units()


def _adamw(
    model: PreTrainedModel, args: TrainingArguments, learning_rate: float, *, capturable: bool
) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and normalization weights; `capturable` (for CUDA
    graphs) keeps its step counts and learning rate in device tensors."""
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
    if capturable:  # the scheduler then fills the tensor instead of replacing a float
        device = next(model.parameters()).device
        return torch.optim.AdamW(
            groups, lr=torch.tensor(learning_rate, device=device), fused=True, capturable=True
        )
    return torch.optim.AdamW(groups, lr=learning_rate, fused=fused)
