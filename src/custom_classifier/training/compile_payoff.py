"""Whether a LoRA job's decoder layers should be compiled: the rule behind the automatic setting
of `SpeedLevers.compiled_layers` (None). No torch here: the loop describes the job.

Compiled layers (`training/compiled_layers.py`) make every step faster but first cost a compile.
Measured on one H200 (BENCHMARKS.md, "Decoder LoRA: the causal-mask fix measured (fifth
round)": Qwen3-0.6B shape, 27 of 28 layers compiled, hidden size 1024, batch 16, window 512,
LoRA rank 16, CUDA graphs): a steady step took 66.7 ms compiled against 92.0 ms eager, at 6,838
non-padding tokens a step, after 17.6 s of compiling (16.5 s in the fourth round): repaid after
about 700 steps. A job's windows, epochs and model are known before its first step, so the loop
estimates the seconds compiled layers would save over the job and compiles them only when that
is more than the compile's cost, counted with a margin. Checked on one H200 (sixth round): a
1,100-step job of that shape compiled (27.9 s saved estimated) and took 91.0 s against 102.5 s
eagerly (27.6 ms saved a step, 17.3 s compiling); a 200-step job stayed eager.

The saving is scaled from the measurement by the job's tokens, its compiled layers and its
hidden size: what inductor saves is elementwise work (rotary embeddings, norms, SiLU-and-multiply,
the adapters' dropout, scaling and additions, residual additions) over each token of each layer,
whose width grows with the hidden size. The compile's cost does not grow with the layer count
(every layer shares one graph).

Why the threshold is conservative:
- The compile is counted at `COMPILE_COST_MARGIN` times its measured 17.6 s: a host whose CPU
  compiles more slowly than the H200 machine's, or a GPU whose memory is faster than the H200's
  4.8 TB/s (the work saved is bound by memory bandwidth: a B200's 8 TB/s would save about 0.6
  times as much per token), still repays it. A worker whose inductor caches are warm from an
  earlier job compiles in a few seconds (second round: 3.1 s for the first 10% of the steps
  against 108 s cold); that is not counted.
- Tokens count only the epochs early stopping cannot cut (the first epoch and `patience` more;
  every epoch without a validation split).
- Not measured, so never chosen automatically: GPUs older than compute capability 8.0 (no bf16,
  their own Triton limits), steps without CUDA graphs (compiled layers without them, 8 of 27
  compiled then, ran at 0.7x the graphed eager rate in the second round), Liger's kernels (Dynamo cannot trace Liger's
  RMSNorm: the layers fall back to eager after a failed compile), gradient checkpointing, and
  encoders trained with LoRA.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

COMPILE_SECONDS = 17.6
"""Compiling the layers of the measured decoder on the H200 machine (Dynamo, AOT autograd,
inductor's forward and backward, Triton), all 27 layers and every batch width in one graph."""
SAVED_SECONDS_PER_TOKEN_LAYER = (0.0920 - 0.0667) / (6838 * 27)
"""Step time saved per non-padding token and compiled layer at hidden size 1024 (about 0.14 us):
92.0 ms eager against 66.7 ms compiled, 6,838 tokens a step, 27 compiled layers."""
MEASURED_HIDDEN_SIZE = 1024
COMPILE_COST_MARGIN = 1.5
"""The estimated saving must exceed the compile's measured cost this many times over: at the
measured shape, jobs of about 1,040 steps or more (break-even about 700)."""
MIN_COMPUTE_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class LoraJob:
    """What the rule reads of one LoRA training job, before its first step."""

    tokens: int
    """Non-padding tokens trained over the epochs early stopping cannot cut."""
    compiled_layers: int
    """Layers that would compile (a decoder's repeated layers but the first)."""
    hidden_size: int
    compute_capability: tuple[int, int] | None
    """The CUDA GPU's; None on a CPU."""
    decoder: bool = True
    cuda_graphs: bool = True
    liger_kernels: bool = False
    gradient_checkpointing: bool = False

    def saved_seconds(self) -> float:
        """Estimated step time compiled layers would save over the job (compile not counted)."""
        width = self.hidden_size / MEASURED_HIDDEN_SIZE
        return self.tokens * self.compiled_layers * width * SAVED_SECONDS_PER_TOKEN_LAYER


def epochs_early_stopping_cannot_cut(epochs: int, patience: int, *, validating: bool) -> int:
    """The epochs a job trains at least: all of them without a validation split, else the first
    and `patience` more (a perfect validation macro-F1, which stops at once, is not counted)."""
    return epochs if not validating else min(epochs, 1 + patience)


def use_compiled_layers(setting: bool | None, job: LoraJob) -> bool:
    """`setting` when it is given (True or False); else whether `job` repays the compile."""
    if setting is not None:
        return setting
    reason = why_layers_stay_eager(job)
    if reason is None:
        logger.info(
            "compiling the decoder's layers: about %.0f s of steps saved against %.1f s of "
            "compiling (SpeedLevers.compiled_layers decides per job)",
            job.saved_seconds(),
            COMPILE_SECONDS,
        )
    else:
        logger.info("the decoder's layers stay eager: %s", reason)
    return reason is None


def why_layers_stay_eager(job: LoraJob) -> str | None:
    """Why the automatic setting leaves `job`'s layers eager; None when they should compile."""
    capability = job.compute_capability
    if capability is None or capability < MIN_COMPUTE_CAPABILITY:
        return (
            "compiled layers were measured on CUDA GPUs of compute capability 8.0 or newer "
            f"only, found {capability or 'no CUDA GPU'}"
        )
    unmeasured = {
        "the model is not a decoder": not job.decoder,
        "the steps are not CUDA graphs": not job.cuda_graphs,
        "Liger's kernels are in use (Dynamo cannot trace them)": job.liger_kernels,
        "gradient checkpointing is on": job.gradient_checkpointing,
    }
    for reason, applies in unmeasured.items():
        if applies:
            return reason
    needed = COMPILE_COST_MARGIN * COMPILE_SECONDS
    if job.saved_seconds() <= needed:
        return (
            f"the job is too short to repay the compile: about {job.saved_seconds():.1f} s of "
            f"steps saved over {job.tokens:,} tokens, {needed:.1f} s needed"
        )
    return None
