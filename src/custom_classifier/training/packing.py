"""Packed training steps for BERT-style encoders: a batch's windows laid end to end in one
sequence, with no padding, each window attending only to itself.

A padded batch of BBC windows at 512 tokens needs an attention mask, and with a mask PyTorch's
SDPA cannot run flash attention: one step lost 35% on an H200 (BENCHMARKS.md, "MiniLM at window
512"), and every padding position still costs its share of the matrix products. Packed, the
windows of a batch form one sequence of their real tokens only; position ids restart at 0 at
each window's start (BERT's absolute position embeddings see what they see in a padded row), and
variable-length flash attention (`torch.nn.attention.varlen`) keeps each window to itself by
the cumulative window lengths. The classification head pools each window's first token.

The packed forward calls the model's own modules (embeddings, each layer's projections, norms and
feed-forward block, pooler, dropout, classifier) in the order `BertForSequenceClassification`
does, so the weights, and what is saved, are the model's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

VarlenAttention = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int], Any]
"""`(query, key, value, cu_seqlens, max_length) -> output`, each of query, key, value and the
output shaped (tokens, heads, head size); `cu_seqlens` holds the windows' cumulative lengths."""
PackedLayer = Callable[[Any, torch.Tensor, "PackedBatch", VarlenAttention], torch.Tensor]
"""`(layer, hidden, batch, attention) -> hidden`: one `BertLayer` over packed tokens
(`packed_layer`, or a compiled copy of it)."""

_PACKABLE_MODELS = frozenset({"BertForSequenceClassification"})
_FLASH_MIN_CAPABILITY = (8, 0)  # flash attention needs Ampere or newer


@dataclass(frozen=True)
class PackedBatch:
    """A batch's windows end to end: one sequence of their tokens, no padding."""

    input_ids: torch.Tensor
    """(tokens,) the windows' ids, one after the other (then any filler windows')."""
    position_ids: torch.Tensor
    """(tokens,) each token's place in its own window (0 at each window's first token)."""
    cu_seqlens: torch.Tensor
    """(windows + fillers + 1,) int32: where each window starts, then the total."""
    max_length: int
    """No window is longer (the attention kernel's tile count depends on it)."""
    windows: int
    """How many of the windows are the batch's, empty window slots included (the rest fill
    the sequence to a fixed size)."""

    @property
    def first_tokens(self) -> torch.Tensor:
        """Where each of the batch's windows has its first token ([CLS]) in the sequence; an
        empty window slot's (token-budget batches) points at some token: the loss ignores it."""
        return self.cu_seqlens[: self.windows].long().clamp(max=len(self.input_ids) - 1)


def pack_rows(
    ids: torch.Tensor,
    lengths: torch.Tensor,
    rows: torch.Tensor,
    *,
    total_tokens: int,
    fillers: int = 0,
) -> PackedBatch:
    """The windows `rows` of the right-padded `ids` (windows x width, their real `lengths`)
    packed: device work only, no host synchronization, so a CUDA graph can replay it.

    `total_tokens` is the rows' total length (the caller knows it on the host), or more: then
    up to `fillers` filler windows, each at most `ids`' width, take up the rest. They attend only
    to themselves and nothing reads their outputs, so they change neither the logits nor the
    gradients; they give batches of different lengths one shape (one graph per shape).
    """
    width = ids.shape[1]
    window_lengths = lengths[rows]
    if fillers:
        rest = total_tokens - window_lengths.sum()
        steps = torch.arange(fillers, device=ids.device) * width
        window_lengths = torch.cat([window_lengths, (rest - steps).clamp(0, width)])
        rows = torch.cat([rows, rows[:1].expand(fillers)])  # any real tokens will do
    cu_seqlens = torch.zeros(len(rows) + 1, dtype=torch.int32, device=ids.device)
    cu_seqlens[1:] = torch.cumsum(window_lengths, dim=0)
    window_of_token = torch.repeat_interleave(window_lengths, output_size=total_tokens)
    starts = cu_seqlens[:-1].long()[window_of_token]
    position_ids = torch.arange(total_tokens, device=ids.device) - starts
    input_ids = ids[rows[window_of_token], position_ids]
    return PackedBatch(input_ids.long(), position_ids, cu_seqlens, width, len(rows) - fillers)


def flash_varlen_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_length: int,
) -> torch.Tensor:
    """PyTorch's variable-length flash attention (CUDA, bf16 or fp16), no causal mask."""
    from torch.nn.attention.varlen import varlen_attn

    output = varlen_attn(query, key, value, cu_seqlens, cu_seqlens, max_length, max_length)
    return output[0] if isinstance(output, tuple) else output


def segment_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_length: int,
) -> torch.Tensor:
    """The same function as `flash_varlen_attention`, window by window through SDPA: any
    device and dtype, slow (a host read of the boundaries); a reference for tests."""
    bounds = cu_seqlens.tolist()
    outputs = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        if start == end:
            continue  # an empty filler window
        q, k, v = (t[start:end].transpose(0, 1) for t in (query, key, value))
        outputs.append(torch.nn.functional.scaled_dot_product_attention(q, k, v).transpose(0, 1))
    return torch.cat(outputs)


def packed_logits(
    model: Any,
    batch: PackedBatch,
    attention: VarlenAttention | None = None,
    layer_forward: PackedLayer | None = None,
) -> torch.Tensor:
    """(windows, labels) logits of a packed batch through a `BertForSequenceClassification`,
    as its padded forward computes them (attention dropout must be 0: the kernel has none).
    `attention` defaults to `flash_varlen_attention`, `layer_forward` to `packed_layer`."""
    attention = attention or flash_varlen_attention
    layer_forward = layer_forward or packed_layer
    bert = model.bert
    hidden = bert.embeddings(
        input_ids=batch.input_ids[None], position_ids=batch.position_ids[None]
    )[0]
    for layer in bert.encoder.layer:
        hidden = layer_forward(layer, hidden, batch, attention)
    pooled = bert.pooler(hidden[batch.first_tokens][:, None, :])
    return model.classifier(model.dropout(pooled))


def packed_layer(
    layer: Any, hidden: torch.Tensor, batch: PackedBatch, attention: VarlenAttention
) -> torch.Tensor:
    """One `BertLayer` over packed tokens (tokens x hidden). The query, key and value
    projections run as one matrix product: fewer kernels, which the H200 device's host launches
    slowly (BENCHMARKS.md, "Packed windows": 27.3 -> 23.2 ms a step at batch 64)."""
    heads = layer.attention.self
    weight = torch.cat([heads.query.weight, heads.key.weight, heads.value.weight])
    bias = torch.cat([heads.query.bias, heads.key.bias, heads.value.bias])
    qkv = torch.nn.functional.linear(hidden, weight, bias)
    query, key, value = qkv.view(len(hidden), 3, heads.num_attention_heads, -1).unbind(1)
    context = attention(query, key, value, batch.cu_seqlens, batch.max_length)
    attended = layer.attention.output(context.reshape(len(hidden), -1), hidden)
    return layer.output(layer.intermediate(attended), attended)


def why_not_packed(model: Any, device: torch.device, *, world: int) -> str | None:
    """None when training steps of `model` on `device` can run packed; else the reason."""
    if type(model).__name__ not in _PACKABLE_MODELS:
        return f"{type(model).__name__} has no packed forward here"
    config = model.config
    if getattr(config, "attention_probs_dropout_prob", 0.0):
        return "attention dropout is on (the varlen kernel has none)"
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return "position embeddings are not absolute"
    if getattr(model, "is_gradient_checkpointing", False):
        return "gradient checkpointing is on"
    if world > 1:
        return "data-parallel training calls the wrapped model's own forward"
    if device.type != "cuda":
        return "variable-length flash attention needs a CUDA GPU"
    if torch.cuda.get_device_capability(device) < _FLASH_MIN_CAPABILITY:
        return "flash attention needs a GPU of compute capability 8.0 or newer"
    return _varlen_failure(str(device))


@functools.cache
def _varlen_failure(device: str) -> str | None:
    """Why variable-length flash attention cannot train on `device` (a forward and backward
    of a tiny batch tried once per process), or None when it can."""
    try:
        query = torch.randn(24, 2, 32, device=device, dtype=torch.bfloat16, requires_grad=True)
        cu_seqlens = torch.tensor([0, 10, 24], dtype=torch.int32, device=device)
        flash_varlen_attention(query, query, query, cu_seqlens, 14).sum().backward()
    except Exception as error:  # noqa: BLE001 - whatever fails, batches stay padded
        return f"variable-length flash attention failed on {device}: {error}"
    return None
