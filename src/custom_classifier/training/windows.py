"""Training data as token windows: encoding, the on-device window bank, batching, class weights."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from custom_classifier.corpus.models import Document
from custom_classifier.errors import TrainingError
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.chunking import build_windows, pad_windows
from custom_classifier.training.packing import PackedBatch, pack_rows
from custom_classifier.training.token_batches import IGNORED_TARGET

_BATCHES_PER_BUCKET = 50  # length-sorting happens within buckets of this many shuffled batches
WIDTH_MULTIPLE = 64
"""Padded batches are this many tokens wide, or a multiple (at most the longest window)."""
PACKED_TOKEN_MULTIPLE = 4096
"""Packed batches of a window count replayed as CUDA graphs have a multiple of this many
tokens: at batch 64 on BBC, about 7 shapes, and 8% of the positions filler on average (by
default, packed single-label batches go by token budget instead: `token_batches`)."""


@dataclass(frozen=True)
class EncodedSplit:
    """The windows of a split's documents, tokenized once."""

    windows: list[np.ndarray]
    doc_index: np.ndarray
    """Document of each window."""
    doc_labels: np.ndarray
    """Label id of each document; multi-label: one row of 0/1 (float32) per document."""

    @property
    def window_labels(self) -> np.ndarray:
        return self.doc_labels[self.doc_index]


def encode_documents(
    tokenizer: Any,
    documents: Sequence[Document],
    labels: Sequence[str],
    args: TrainingArguments,
    *,
    max_windows: int | None = None,
) -> EncodedSplit:
    """Tokenize documents into windows as `args.long_document_strategy` says; in multi-label
    mode each document's targets are a row of 0/1 over `labels`."""
    label_ids = {label: i for i, label in enumerate(labels)}
    unknown = sorted({name for d in documents for name in d.label_set} - label_ids.keys())
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
    if args.mode == "multi":
        return EncodedSplit(windows, doc_index, label_matrix(documents, labels))
    doc_labels = np.asarray([label_ids[d.label] for d in documents], dtype=np.int64)
    return EncodedSplit(windows, doc_index, doc_labels)


def label_matrix(documents: Sequence[Document], labels: Sequence[str]) -> np.ndarray:
    """One float32 row per document, 1 in the column of each label it carries."""
    label_ids = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(documents), len(labels)), dtype=np.float32)
    for row, document in enumerate(documents):
        matrix[row, [label_ids[name] for name in document.label_set]] = 1.0
    return matrix


class WindowBank:
    """Every training window padded once into one tensor on the device, with labels and lengths.

    A step then gathers its rows on the device: no per-step tokenizer padding, no host copies.
    With `causal`, batches carry no attention mask at all: in a decoder a right-padded token is
    never attended to by the tokens before it, and the score head pools the last non-pad token,
    so the mask changes nothing but the attention kernel (flash attention takes no mask).
    """

    def __init__(
        self, split: EncodedSplit, pad_id: int, device: torch.device, *, causal: bool = False
    ) -> None:
        self.lengths = np.asarray([len(w) for w in split.windows], dtype=np.int64)
        ids, _ = pad_windows(split.windows, pad_id, dtype=np.int32)
        self.device = device
        self.causal = causal
        # One more row on the device, `empty_row`: no tokens and a target the loss ignores
        # (no label in multi-label mode), for the empty window slots of token-budget batches.
        self.empty_row = len(self.lengths)
        labels = split.window_labels
        empty_label = np.full((1, *labels.shape[1:]), IGNORED_TARGET if labels.ndim == 1 else 0)
        self.ids = torch.from_numpy(np.pad(ids, ((0, 1), (0, 0)), constant_values=pad_id))
        self.ids = self.ids.to(device)
        self.length_tensor = torch.from_numpy(np.append(self.lengths, 0)).to(device)
        self.labels = torch.from_numpy(np.concatenate([labels, empty_label.astype(labels.dtype)]))
        self.labels = self.labels.to(device)
        # Few distinct widths: kernels made per shape stay warm, and on a CPU the memory they
        # hold stops growing (oneDNN keeps about 10 MB for each new width: BBC's exact widths
        # grew the resident memory with every step, rounded ones stop at 8 widths).
        self._multiple = WIDTH_MULTIPLE

    def shape(self, rows: np.ndarray) -> tuple[int, bool]:
        """The padded width of `rows` and whether their batch needs an attention mask."""
        lengths = self.lengths[rows]
        longest = int(lengths.max())
        if int(lengths.min()) == longest:
            return longest, False
        width = min(-(-longest // self._multiple) * self._multiple, self.ids.shape[1])
        return width, not self.causal

    def batch(
        self, rows: np.ndarray, rows_on_device: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Model inputs and targets of `rows`; no attention mask when no row is padded."""
        width, masked = self.shape(rows)
        return self.gather(rows_on_device, width, masked)

    def gather(
        self, rows: torch.Tensor, width: int, masked: bool
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Inputs and targets of the device-side `rows` at `width`: device work only, so that a
        CUDA graph can replay it with other rows."""
        inputs: dict[str, torch.Tensor] = {}
        if masked:
            positions = torch.arange(width, device=self.device)
            inputs["attention_mask"] = (
                positions[None, :] < self.length_tensor[rows][:, None]
            ).long()
        inputs["input_ids"] = self.ids[rows, :width].long()
        return inputs, self.labels[rows]

    def packed_key(self, rows: np.ndarray, *, fixed_shapes: bool) -> tuple[int, int, int]:
        """(windows, tokens, filler windows) of `rows` packed: their total length and no
        fillers, or with `fixed_shapes` that rounded up to a multiple of
        `PACKED_TOKEN_MULTIPLE` and as many fillers as may be needed to take up the rest, so
        that few shapes recur and each can be a CUDA graph."""
        tokens = int(self.lengths[rows].sum())
        if not fixed_shapes:
            return len(rows), tokens, 0
        tokens = -(-tokens // PACKED_TOKEN_MULTIPLE) * PACKED_TOKEN_MULTIPLE
        return len(rows), tokens, -(-(PACKED_TOKEN_MULTIPLE - 1) // self.ids.shape[1])

    def packed(
        self, rows: torch.Tensor, key: tuple[int, int, int]
    ) -> tuple[PackedBatch, torch.Tensor]:
        """The device-side `rows` packed end to end without padding (`packing.PackedBatch`),
        in the shape `key` (windows, tokens, filler windows: `packed_key`, or a
        `token_batches.TokenBudget`'s), and their targets: device work only."""
        _, tokens, fillers = key
        batch = pack_rows(self.ids, self.length_tensor, rows, total_tokens=tokens, fillers=fillers)
        return batch, self.labels[rows]


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


def positive_weights(targets: np.ndarray) -> np.ndarray:
    """Multi-label: each label's `negatives / positives` (BCE's `pos_weight`), so that a rare
    label's few positives weigh as much as its negatives; 1 for a label with no positive or
    no negative. The tuned thresholds then move each decision back where F1 is best."""
    positives = targets.sum(axis=0).astype(np.float64)
    negatives = len(targets) - positives
    weights = np.ones(targets.shape[1], dtype=np.float64)
    both = (positives > 0) & (negatives > 0)
    weights[both] = negatives[both] / positives[both]
    return weights


def class_weights(label_ids: np.ndarray, num_labels: int) -> np.ndarray:
    """`n / (num_labels * count)` per label, so each label weighs the same in the loss.

    A label with no training sample gets weight 1 (it never appears as a target).
    """
    counts = np.bincount(label_ids, minlength=num_labels).astype(np.float64)
    weights = np.ones(num_labels, dtype=np.float64)
    present = counts > 0
    weights[present] = len(label_ids) / (num_labels * counts[present])
    return weights
