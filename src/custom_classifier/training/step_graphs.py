"""The training step replayed as a CUDA graph, one graph per batch shape.

A step of a 0.6 B decoder with LoRA adapters launches about 6,700 kernels (28 layers, seven
adapted linear layers each, norms, rotary embeddings, casts), and on the H200 device the host
takes longer to launch them than the GPU takes to run them (BENCHMARKS.md, "Decoder LoRA on one
H200"). A CUDA graph launches the whole step (forward, backward, gradient clipping, AdamW) at
once. Length-bucketed batches come in few shapes (widths in multiples of 64), so few graphs.

How a shape is handled: the very first step runs eagerly (CUDA libraries' handles and the
optimizer's state created); each shape's first batch is then captured and replayed, and every
later batch of that shape replayed with its rows copied in. A shape whose capture fails (a
model that reads a tensor's value on the host during the step) stays eager. Capturing costs
about one eager step, so warming each shape up eagerly first would cost a step per shape.
All graphs share one memory pool: they replay one after another, and nothing a graph writes
is read after the next replay except the loss, which is copied out at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

StepKey = tuple[int, int, int]
"""Rows, width and whether the batch has an attention mask: what fixes a step's kernels. A
packed batch's: window slots, tokens and filler windows (`WindowBank.packed`)."""
Step = Callable[[torch.Tensor, StepKey], torch.Tensor]
"""Runs one training step on the device-side rows (forward, backward, clipping, optimizer
step, gradients set to None) and returns the loss as a 0-d tensor; no host synchronization."""

_MAX_GRAPHS = 32


@dataclass(frozen=True)
class SpeedLevers:
    """Switches for the GPU training path's speed-ups, each on by default where it was measured
    to help (each field says why it is on or off); benchmarks turn them on and off one at a
    time to measure each (BENCHMARKS.md)."""

    cuda_graphs: bool = True
    """Replay each batch shape's whole LoRA or packed training step as a CUDA graph (padded full
    fine-tuning of an encoder stays eager: on BBC, MiniLM trained in 3.31 s with graphs against
    1.85 s without)."""
    causal_without_mask: bool = True
    """Decoders train without an attention mask (right padding is invisible to causal
    attention), which lets flash attention run and keeps every step capturable; no causal mask
    is built either, also in a capture (where transformers 5.17 builds one: on one H200 the
    captured steps ran memory-efficient attention, 22 of 101 ms a step; fixed since, not
    measured)."""
    fused_rms_norm: bool = True
    """Llama-style RMSNorm layers run PyTorch's fused kernel instead of six elementwise ones."""
    lora_input_casts: bool = False
    """PEFT's cast of each adapter's input to float32 (undone by bf16 autocast right after)."""
    warm_up_each_shape: bool = False
    """Run each shape's first batch eagerly before capturing its graph (else only the first);
    always so with compiled layers and Liger's kernels, which must not compile inside a
    capture."""
    compiled_layers: bool | None = None
    """Compile a LoRA-trained decoder's layers with `torch.compile` (inductor), which fuses the
    elementwise kernels around the matrix products (`training/compiled_layers.py`). None (the
    default): per job, on when the job is long enough to repay the compile
    (`training/compile_payoff.py`: the estimated seconds saved over its tokens, from the fifth
    round's measurement, must exceed 1.5 times the compile's 17.6 s; about 1,040 steps of batch
    16 at window 512 for Qwen3-0.6B), on a CUDA GPU of compute capability 8.0 or newer, with
    CUDA graphs, without Liger's kernels or gradient checkpointing. True or False: always or
    never (on one CUDA GPU). On one H200 (Qwen3-0.6B shape, BENCHMARKS.md, fifth round) all 27
    layers and every batch width share one graph, 102.5k tokens/s steady against 74.3k eager
    (3.46x stock's), but the 17.6 s of compiling is repaid only after about 700 steps: 0.62x the
    eager rate over a 200-step run. With the rule (sixth round): a 1,100-step job compiled and
    trained at 82.8k tokens/s over all its steps against 73.6k eagerly (3.24x stock's rate), and
    a 200-step job stayed eager."""
    fused_adapter_additions: bool = True
    """Scale and add each LoRA adapter's output in its B matrix product (`addmm`) instead of
    two elementwise kernels (`training/fused_adapters.py`). On one H200 (Qwen3-0.6B shape):
    +5% tokens/s over 200 steps alone, +16% beside Liger's kernels, the same loss
    (BENCHMARKS.md)."""
    liger_kernels: bool = False
    """Liger's Triton kernels for a Llama/Qwen/Mistral decoder's RMSNorm, SwiGLU and rotary
    embeddings, when the optional `liger-kernel` package is installed
    (`training/liger_kernels.py`); without it, this lever changes nothing. Off: on one H200,
    +17% tokens/s beside fused additions (2.59x stock, short of the 3x asked), at the same
    loss, but not a dependency, and its rotary wrapper stays for the process (BENCHMARKS.md)."""
    packed_windows: bool = True
    """BERT-style encoders train on each batch's windows packed into one sequence without
    padding, through variable-length flash attention (`training/packing.py`); other models,
    CPUs and data-parallel training keep padded batches."""
    compiled_packed_layers: bool = False
    """Packed encoder steps run `packing.packed_layer` compiled with `torch.compile`
    (inductor fuses each LayerNorm with its residual addition and the bias with GELU;
    `training/compiled_layers.py`). Off: one MiniLM step at batch 128 went from 23.3 to
    21.2 ms on an H200, but compiling took about 17 s, ten times a BBC run's steps, and each
    new shape's eager warm-up before its capture ate the rest (BENCHMARKS.md). With the token
    budget's one shape, BBC at batch 128 held 2.34M tokens/s steady against 2.07M and 20
    Newsgroups 2.26-2.27M against 1.99M (batch 64: +8% and +12%), macro-F1 as high, but
    compiling from nothing took 9.5-17.5 s (1.8 s with inductor's cache on disk warm): 3,500 to
    6,500 steps of 2.7 ms saved each, where BBC's job takes about 220 ("Epoch boundaries
    without a wait")."""
    frozen_word_embeddings: bool = True
    """Packed encoder steps leave the word-embedding matrix as it is (half of MiniLM's
    weights): no gradient for it, no AdamW state or update; position and token-type
    embeddings still train. On an H200, BBC's steady tokens/s rose 8-14% in five pairs of runs,
    macro-F1 within one run's noise (BENCHMARKS.md, "Compiled layers and frozen word
    embeddings")."""
    token_budget_batches: bool = True
    """Packed single-label steps take batches by token budget (`training/token_batches.py`):
    every batch the same tokens and window slots (filler windows and empty slots make up the
    rest), so one CUDA graph replays every step, instead of batches of `gpu_batch_size`
    windows whose token counts round up to 6-15 shapes. Batches hold that many windows on
    average, so an epoch has as many steps. On an H200, steady tokens/s rose in all four pairs
    of runs (BBC +6% at batch 64 and 128, +1.5% at 256; 20 Newsgroups +6.6% at 128), macro-F1
    within one run's noise (BENCHMARKS.md, "Batches by token budget")."""


LEVERS = SpeedLevers()
"""The levers the training loop uses; a benchmark may replace this module attribute."""


class StepGraphs:
    """Runs training steps eagerly or as CUDA graph replays, per `StepKey`."""

    def __init__(self, step: Step, device: torch.device, *, warm_up_each_shape: bool) -> None:
        self.step = step
        self.device = device
        self.warm_up_each_shape = warm_up_each_shape
        self.graphs: dict[StepKey, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}
        self.warm = False
        self.warmed: set[StepKey] = set()
        self.eager_only: set[StepKey] = set()
        self.pool = torch.cuda.graph_pool_handle()
        self.side_stream = torch.cuda.Stream(device)

    def __call__(self, rows: torch.Tensor, key: StepKey) -> torch.Tensor:
        entry = self.graphs.get(key)
        if entry is None:
            cold = not self.warm or (self.warm_up_each_shape and key not in self.warmed)
            if cold or key in self.eager_only or len(self.graphs) >= _MAX_GRAPHS:
                self.warm = True
                self.warmed.add(key)
                return self._on_side_stream(rows, key)
            entry = self._capture(rows, key)
            if entry is None:
                return self._on_side_stream(rows, key)
        graph, static_rows, static_loss = entry
        static_rows.copy_(rows)
        graph.replay()
        return static_loss.clone()

    def _on_side_stream(self, rows: torch.Tensor, key: StepKey) -> torch.Tensor:
        """An eager step on a side stream, as graph capture wants its warm-up steps run."""
        current = torch.cuda.current_stream(self.device)
        self.side_stream.wait_stream(current)
        with torch.cuda.stream(self.side_stream):
            loss = self.step(rows, key)
        current.wait_stream(self.side_stream)
        return loss

    def _capture(
        self, rows: torch.Tensor, key: StepKey
    ) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor] | None:
        static_rows = rows.clone()
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize(self.device)
        try:
            with torch.cuda.graph(graph, pool=self.pool):
                static_loss = self.step(static_rows, key)
        except RuntimeError as error:  # e.g. a host read of a device value inside the model
            logger.info("training step of shape %s stays eager: %s", key, error)
            self.eager_only.add(key)
            torch.cuda.synchronize(self.device)
            return None
        self.graphs[key] = (graph, static_rows, static_loss)
        return self.graphs[key]
