"""Packed training batches by token budget: every batch of a run the same number of tokens and
of window slots, so that one CUDA graph replays every step.

Batches of a fixed window count (`windows.shuffled_length_batches`) hold different numbers of
tokens. Packed and replayed as CUDA graphs, their token counts round up to a multiple of 4,096,
and BBC's batches still came in 7-10 shapes, each warmed up or captured when first seen, 8% of
their positions filler (BENCHMARKS.md, "Packed windows"). Here an epoch's windows, in random
order, each go to the batch holding the fewest tokens so far (worst fit). With room for the
mean batch's tokens plus one longest window, every window fits (the emptiest batch holds at
most the mean of what came before), so an epoch has exactly `ceil(windows / batch size)`
batches, as with window counts, and its batches differ by at most one window's length: a
few filler windows make each up to the budget, and empty window slots make the window counts
equal. Empty slots' targets are `IGNORED_TARGET`, which the cross-entropy leaves out.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

IGNORED_TARGET = -100
"""The target of an empty window slot: `torch.nn.CrossEntropyLoss`'s default `ignore_index`,
so its weighted mean is over the batch's real windows, as a padded batch of them computes it."""
_TOKEN_MULTIPLE = 64
_SLOT_HEADROOM = 1.5
"""Slots per batch, over the mean window count: in 20 simulated epochs of BBC's and
20 Newsgroups' lengths at batch 64-256, no batch held more than 1.2 times the mean."""


@dataclass(frozen=True)
class TokenBudget:
    """The one shape of a run's packed batches, and how an epoch's windows fill them."""

    batches: int
    """Batches per epoch: `ceil(windows / batch size)`."""
    tokens: int
    """Every batch's tokens, its windows' and filler windows'."""
    slots: int
    """Every batch's window slots, its windows and empty ones."""
    width: int
    """The longest window; no filler window is longer."""

    @classmethod
    def for_windows(cls, lengths: np.ndarray, batch_size: int) -> TokenBudget:
        """The budget of batches of `batch_size` windows on average, of these `lengths`."""
        batches = -(-len(lengths) // batch_size)
        width = int(lengths.max())
        tokens = -(-int(lengths.sum()) // batches) + width
        tokens = -(-tokens // _TOKEN_MULTIPLE) * _TOKEN_MULTIPLE
        slots = math.ceil(_SLOT_HEADROOM * len(lengths) / batches)
        return cls(batches, tokens, slots, width)

    @property
    def fillers(self) -> int:
        """Filler windows a batch needs at most: the batches differ by at most one window's
        length, so each holds at least the budget less two longest windows and the rounding."""
        return -(-(2 * self.width + _TOKEN_MULTIPLE) // self.width)

    def key(self, tokens: int) -> tuple[int, int, int]:
        """The packed step's shape (`WindowBank.packed`) of a batch of `tokens` real tokens:
        (slots, tokens, filler windows), the same for every batch that `plan` makes."""
        needed = -(-(self.tokens - tokens) // self.width)
        return self.slots, self.tokens, max(self.fillers, needed)

    def plan(self, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """One epoch's batches: every window once, in random order and random batches.

        A batch whose slots are all taken stops receiving windows; should no open batch have
        room left for a window (window counts far from the mean), it starts an extra batch."""
        batches: list[list[int]] = [[] for _ in range(self.batches)]
        open_batches = [(0, index) for index in range(self.batches)]  # (tokens, batch)
        for row in rng.permutation(len(lengths)):
            length = int(lengths[row])
            if not open_batches or open_batches[0][0] + length > self.tokens:
                batches.append([])
                heapq.heappush(open_batches, (0, len(batches) - 1))
            tokens, index = heapq.heappop(open_batches)
            batches[index].append(int(row))
            if len(batches[index]) < self.slots:
                heapq.heappush(open_batches, (tokens + length, index))
        return [np.asarray(batches[i], dtype=np.int64) for i in rng.permutation(len(batches))]

    def slot_rows(self, batches: list[np.ndarray], empty_row: int) -> np.ndarray:
        """(batches, slots): each batch's rows, then `empty_row` in its empty slots."""
        rows = np.full((len(batches), self.slots), empty_row, dtype=np.int64)
        for index, batch in enumerate(batches):
            rows[index, : len(batch)] = batch
        return rows
