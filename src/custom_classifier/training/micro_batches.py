"""Micro-batches with gradient accumulation for padded CPU training steps.

A CPU step's peak memory is its activations saved for the backward pass (887 MB at 16 x 512
with bf16 autocast for MiniLM, on top of the 1.0-1.4 GB resident between steps: BENCHMARKS.md,
training memory). Split into micro-batches of at most `CPU_STEP_TOKENS` padded tokens, each
backward before the next forward, a step holds one micro-batch's activations at a time and
takes the same optimizer step: each micro-batch's loss is summed over its windows and divided
by the whole batch's `loss_denominator`, so the accumulated gradient is the whole batch's mean
loss's, class weights included, up to rounding.
"""

from __future__ import annotations

import torch

CPU_STEP_TOKENS = 4096
"""The most padded tokens one micro-batch of a CPU training step holds: 8 windows of 512, a
whole batch of 16 up to width 256."""


def micro_batch_size(width: int, batch_size: int, max_tokens: int = CPU_STEP_TOKENS) -> int:
    """Windows per micro-batch of a batch `width` tokens wide: as many as `max_tokens` holds,
    at least one, at most the batch."""
    return max(1, min(batch_size, max_tokens // max(width, 1)))


def micro_batches(rows: torch.Tensor, size: int) -> list[torch.Tensor]:
    """`rows` in consecutive parts of `size` (the last may be shorter)."""
    return list(torch.split(rows, size))


def summed_loss(loss: torch.nn.Module) -> torch.nn.Module:
    """`loss` (cross-entropy or BCE with logits, weights kept) summed instead of averaged."""
    if isinstance(loss, torch.nn.CrossEntropyLoss):
        return torch.nn.CrossEntropyLoss(
            weight=loss.weight, ignore_index=loss.ignore_index, reduction="sum"
        )
    if isinstance(loss, torch.nn.BCEWithLogitsLoss):
        return torch.nn.BCEWithLogitsLoss(pos_weight=loss.pos_weight, reduction="sum")
    raise TypeError(f"expected a CrossEntropyLoss or BCEWithLogitsLoss, got {type(loss).__name__}")


def loss_denominator(loss: torch.nn.Module, targets: torch.Tensor) -> torch.Tensor:
    """What `loss`'s mean divides its sum by over the whole batch's `targets`: the class
    weights of the counted targets (cross-entropy; their count without weights), the number of
    target values (BCE: its `pos_weight` scales terms, not the mean)."""
    if isinstance(loss, torch.nn.BCEWithLogitsLoss):
        return torch.tensor(float(targets.numel()), device=targets.device)
    if not isinstance(loss, torch.nn.CrossEntropyLoss):
        raise TypeError(f"expected a CrossEntropyLoss or BCEWithLogitsLoss, got {type(loss)}")
    counted = targets[targets != loss.ignore_index]
    if loss.weight is None:
        return torch.tensor(float(counted.numel()), device=targets.device)
    return loss.weight[counted].sum()
