"""Window scorers: the logits of token windows from PyTorch, ONNX Runtime or CUDA graphs.

One `WindowScorer` protocol, three implementations and `make_scorer`, which picks one for a
device and a backend. Every scorer pads windows with `pad_windows`, the routine training uses
too. Self-contained: shipped inside the MLflow model with `text_classifier.py`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from transformers import PreTrainedModel

Backend = Literal["auto", "onnx", "torch", "torch-bf16"]
"""How windows are scored. `auto`: on a CUDA GPU, bf16 weights with single windows replayed
through CUDA graphs; on a CPU, ONNX Runtime (int8) when the folder has its ONNX file and
onnxruntime is installed; else `torch`: PyTorch as trained (bf16 autocast on a GPU, fp32 on a
CPU), except decoder models on CPUs with bf16 units, which take `torch-bf16`. `torch-bf16` is
PyTorch with bf16 autocast on the CPU too (fast only with bf16 units)."""
BACKENDS = ("auto", "onnx", "torch", "torch-bf16")

logger = logging.getLogger(__name__)


class WindowScorer(Protocol):
    """Float32 logits of token windows, one row per window in the order given."""

    name: str
    """What scores: `torch`, `torch-bf16`, `onnx` or `cuda-bf16`."""

    def __call__(self, windows: Sequence[np.ndarray], *, batch_size: int) -> np.ndarray: ...


def pad_windows(
    windows: Sequence[np.ndarray], pad_id: int, *, multiple: int = 1, dtype: Any = np.int64
) -> tuple[np.ndarray, np.ndarray]:
    """Input ids and attention mask of `windows`, right-padded to the longest (rounded up to
    `multiple`, which keeps a GPU's tensor cores and tuned kernels on few shapes)."""
    lengths = np.asarray([len(w) for w in windows], dtype=np.int64)
    width = -(-int(lengths.max()) // multiple) * multiple
    ids = np.full((len(windows), width), pad_id, dtype=dtype)
    for row, window in enumerate(windows):
        ids[row, : len(window)] = window
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(dtype)
    return ids, mask


CPU_BATCH_TOKENS = 4096
"""The most padded tokens one CPU scoring batch holds (8 windows of 512, 32 of 128): attention
keeps batch x heads x width^2 scores (ONNX Runtime's arena keeps its largest ever), so 32
windows of 512 would hold 400 MB of float32 scores per tensor, whatever the corpus size."""


def length_sorted_batches(
    windows: Sequence[np.ndarray], batch_size: int, *, max_tokens: int | None = None
) -> list[np.ndarray]:
    """Window positions grouped into batches of similar length, so little padding is needed;
    with `max_tokens`, a batch of several windows pads at most that many tokens."""
    lengths = np.asarray([len(w) for w in windows], dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        end = start + 1  # ascending lengths: a batch is as wide as its last window
        while (
            end < len(order)
            and end - start < batch_size
            and (end - start + 1) * int(lengths[order[end]]) <= max_tokens
        ):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def cpu_has_bf16_units() -> bool:
    """True on CPUs with native bf16 arithmetic (AVX512-BF16 or AMX), where bf16 autocast is
    two to three times faster than float32; elsewhere it would be slower."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, probe, lambda: False)()) for probe in probes)


def autocast_for(device: torch.device, *, cpu_bf16: bool = False, cache: bool = True) -> Any:
    """bf16 autocast on a CUDA GPU that supports it (on a CPU only if `cpu_bf16`); else none.
    `cache=False` recasts weights at each use (what a CUDA graph capture needs)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=cache)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=cache)
    return nullcontext()


def attention_kernels(device: torch.device) -> Any:
    """On a CUDA GPU, flash or memory-efficient attention rather than cuDNN's, which builds a
    plan for every new shape (about 0.1 s each: seconds over length-bucketed batches)."""
    if device.type != "cuda":
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(
        [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    )


_UNMASKED_SDPA = "sdpa_unmasked"
"""SDPA, with no mask built for inputs that carry no padding mask (see `unmasked_attention`)."""
_CAUSAL_SDPA = "sdpa_causal"
"""SDPA, with no causal mask built for a decoder's inputs without padding mask, also while a CUDA
stream captures (see `unmasked_attention`)."""


def _unmasked_sdpa_mask(**arguments: Any) -> Any:
    """No mask where no padding mask was given (every position attends everywhere), else
    the mask transformers builds for SDPA."""
    if arguments.get("attention_mask") is None:
        return None
    from transformers.masking_utils import sdpa_mask

    return sdpa_mask(**arguments)


def _causal_sdpa_mask(**arguments: Any) -> Any:
    """No mask for a plain causal mask over inputs without padding mask (SDPA's `is_causal`
    applies it, with flash attention), as transformers decides outside a capture; a sliding
    window, an offset or a custom mask function gets the mask transformers builds."""
    plain = (
        arguments.get("attention_mask") is None
        and arguments.get("allow_is_causal_skip", True)
        and arguments.get("local_size") is None
        and arguments.get("q_length") == arguments.get("kv_length")
        and not arguments.get("q_offset")
        and not arguments.get("kv_offset")
    )
    if plain:
        return None
    from transformers.masking_utils import sdpa_mask

    return sdpa_mask(**arguments)


@contextmanager
def unmasked_attention(model: PreTrainedModel, *, causal: bool = False) -> Iterator[None]:
    """SDPA attention given no mask where the input has no padding, also while a CUDA stream
    captures: an encoder's (`causal=False`: every position attends everywhere) or a decoder's
    (`causal=True`: SDPA's `is_causal`). transformers 5.17 builds a mask during a capture (its
    check that the mask may be skipped reads the mask's values, which a capture cannot), and
    with a mask SDPA has no flash attention: a 512-token encoder graph replay took 0.87 ms of
    GPU time on an H200 so, 0.32 ms with flash attention and no mask
    (`benchmarks/predict_gpu_scoring`). A captured decoder training step built a causal mask
    too, and compiled decoder layers, given a mask in the capture and none in the eager step
    before it, compiled again inside the capture (BENCHMARKS.md, decoder LoRA, fourth round).
    A decoder's rows are taken as one sequence each (no packed sequences)."""
    config = model.config
    if config._attn_implementation != "sdpa":
        yield
        return
    from transformers.masking_utils import AttentionMaskInterface
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS, AttentionInterface

    name, mask = (
        (_CAUSAL_SDPA, _causal_sdpa_mask) if causal else (_UNMASKED_SDPA, _unmasked_sdpa_mask)
    )
    AttentionInterface.register(name, ALL_ATTENTION_FUNCTIONS["sdpa"])
    AttentionMaskInterface.register(name, mask)
    config._attn_implementation = name
    try:
        with _one_sequence_per_row() if causal else nullcontext():
            yield
    finally:
        config._attn_implementation = "sdpa"


@contextmanager
def _one_sequence_per_row() -> Iterator[None]:
    """transformers' check for packed sequences answers "none": each row of a training batch is
    one window. transformers 5.17 cannot read the positions while a stream captures, so it
    assumes packed sequences there and builds the causal mask (on one H200 every captured
    decoder step ran memory-efficient attention with a mask: 22 of its 101 ms)."""
    import transformers.masking_utils as masking

    found = getattr(masking, "find_packed_sequence_indices", None)
    if found is None:
        yield
        return
    masking.find_packed_sequence_indices = _no_packed_sequences
    try:
        yield
    finally:
        masking.find_packed_sequence_indices = found


def _no_packed_sequences(position_ids: torch.Tensor) -> None:
    return None


@torch.inference_mode()
def window_logits(
    model: PreTrainedModel,
    windows: Sequence[np.ndarray],
    *,
    pad_id: int,
    batch_size: int,
    device: torch.device,
    cpu_bf16: bool = False,
) -> np.ndarray:
    """Float32 logits of every window from a PyTorch model, in the order of `windows`."""
    logits = np.zeros((len(windows), int(model.config.num_labels or 0)), dtype=np.float32)
    multiple = 8 if device.type == "cuda" else 1
    max_tokens = CPU_BATCH_TOKENS if device.type == "cpu" else None
    for batch in length_sorted_batches(windows, batch_size, max_tokens=max_tokens):
        ids, mask = pad_windows([windows[i] for i in batch], pad_id, multiple=multiple)
        inputs = {
            "input_ids": torch.from_numpy(ids).to(device),
            "attention_mask": torch.from_numpy(mask).to(device),
        }
        with autocast_for(device, cpu_bf16=cpu_bf16), attention_kernels(device):
            output = model(**inputs).logits
        logits[batch] = output.float().cpu().numpy()
    return logits


class TorchScorer:
    """PyTorch as trained: bf16 autocast on a GPU; on a CPU float32 weights, or bf16 autocast
    with `cpu_bf16`."""

    def __init__(
        self, model: PreTrainedModel, pad_id: int, device: torch.device, *, cpu_bf16: bool
    ) -> None:
        if device.type == "cpu" and not cpu_bf16:
            model.float()  # weights saved in bf16 (a GPU training) compute in float32 here
        self.model, self.pad_id, self.device, self.cpu_bf16 = model, pad_id, device, cpu_bf16
        self.name = "torch-bf16" if cpu_bf16 else "torch"

    def __call__(self, windows: Sequence[np.ndarray], *, batch_size: int) -> np.ndarray:
        return window_logits(
            self.model,
            windows,
            pad_id=self.pad_id,
            batch_size=batch_size,
            device=self.device,
            cpu_bf16=self.cpu_bf16,
        )


class OnnxScorer:
    """An int8 ONNX model through ONNX Runtime on the CPU."""

    name = "onnx"

    def __init__(self, path: Path, pad_id: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.pad_id = pad_id

    def __call__(self, windows: Sequence[np.ndarray], *, batch_size: int) -> np.ndarray:
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for batch in length_sorted_batches(windows, batch_size, max_tokens=CPU_BATCH_TOKENS):
            ids, mask = pad_windows([windows[i] for i in batch], self.pad_id)
            feeds = {"input_ids": ids, "attention_mask": mask}
            output = self.session.run(
                None, {k: v for k, v in feeds.items() if k in self.input_names}
            )
            parts.append((batch, np.asarray(output[0], dtype=np.float32)))
        logits = np.zeros((len(windows), parts[0][1].shape[1]), dtype=np.float32)
        for batch, values in parts:
            logits[batch] = values
        return logits


class CudaGraphScorer:
    """A bf16 model on a CUDA GPU; a single window (a one-document request) replays a CUDA graph
    captured for its length, which removes the kernel-launch overhead. An encoder's graph runs
    attention without a mask (`unmasked_attention`: the window has no padding)."""

    name = "cuda-bf16"

    def __init__(
        self, model: PreTrainedModel, pad_id: int, device: torch.device, *, kind: str = "encoder"
    ) -> None:
        model.to(torch.bfloat16)  # type: ignore[arg-type]  # transformers types `to` oddly
        self.model, self.pad_id, self.device = model, pad_id, device
        # Decoders' masks may hold more than padding (sliding windows): they keep theirs.
        self._unmasked = kind == "encoder"
        self.graph_capacity = 16
        self._graphs: OrderedDict[int, tuple[torch.Tensor, Any, torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()
        self._graphs_work = True
        # Page-locked host buffers, reused by every one-window request (grown as needed).
        self._host_ids = torch.zeros(512, dtype=torch.long).pin_memory()
        self._host_logits = torch.zeros(int(model.config.num_labels or 0)).pin_memory()

    @torch.inference_mode()
    def __call__(self, windows: Sequence[np.ndarray], *, batch_size: int) -> np.ndarray:
        if len(windows) == 1 and self._graphs_work:
            try:
                return self._replay(windows[0])
            except RuntimeError:
                logger.warning("CUDA graph capture failed; running eagerly", exc_info=True)
                self._graphs_work = False
        logits: np.ndarray | None = None
        for batch in length_sorted_batches(windows, batch_size):
            ids, mask = pad_windows([windows[i] for i in batch], self.pad_id)
            inputs = {"input_ids": torch.from_numpy(ids).to(self.device)}
            if not mask.all():
                inputs["attention_mask"] = torch.from_numpy(mask).to(self.device)
            with attention_kernels(self.device):
                output = self.model(**inputs).logits.float().cpu().numpy()
            if logits is None:
                logits = np.zeros((len(windows), output.shape[1]), dtype=np.float32)
            logits[batch] = output
        assert logits is not None
        return logits

    def _replay(self, window: np.ndarray) -> np.ndarray:
        """One window through its length's graph: its ids go through a pinned host buffer
        (an asynchronous copy), the float32 logits come back through another, one sync."""
        with self._lock:
            entry = self._graphs.get(len(window))
            if entry is None:
                entry = self._capture(len(window))
            self._graphs.move_to_end(len(window))
            ids, graph, output = entry
            staged = self._host_ids[: len(window)]
            staged.numpy()[:] = window
            ids[0].copy_(staged, non_blocking=True)
            graph.replay()
            host_logits = self._host_logits[: output.shape[1]]
            host_logits.copy_(output[0], non_blocking=True)
            torch.cuda.current_stream(self.device).synchronize()
            return host_logits.numpy()[None, :].copy()

    def _capture(self, length: int) -> tuple[torch.Tensor, Any, torch.Tensor]:
        if self._host_ids.shape[0] < length:
            self._host_ids = torch.zeros(length, dtype=torch.long).pin_memory()
        ids = torch.full((1, length), self.pad_id, dtype=torch.long, device=self.device)
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        unmasked = unmasked_attention(self.model) if self._unmasked else nullcontext()
        with unmasked, attention_kernels(self.device):
            with torch.cuda.stream(stream):
                for _ in range(2):  # warm-up outside the graph, as CUDA graphs require
                    self.model(input_ids=ids)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                output = self.model(input_ids=ids).logits.float()  # the cast replays too
        self._graphs[length] = (ids, graph, output)
        if len(self._graphs) > self.graph_capacity:
            self._graphs.popitem(last=False)
        return ids, graph, output


def onnx_runtime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def make_scorer(
    model: PreTrainedModel,
    pad_id: int,
    device: torch.device,
    backend: Backend = "auto",
    *,
    onnx_path: Path | None = None,
    kind: str = "encoder",
) -> WindowScorer:
    """The scorer `backend` names on `device` (see `Backend`); it may cast the model's weights
    for itself (bf16 for CUDA graphs, float32 for PyTorch on a CPU)."""
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be 'auto', 'onnx', 'torch' or 'torch-bf16', not {backend!r}"
        )
    if backend == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return CudaGraphScorer(model, pad_id, device, kind=kind)
    wants_onnx = backend == "onnx" or (backend == "auto" and device.type == "cpu")
    if wants_onnx and onnx_path is not None and onnx_path.is_file():
        if onnx_runtime_available():
            return OnnxScorer(onnx_path, pad_id)
        logger.info("onnxruntime is not installed: predicting with PyTorch")
    elif backend == "onnx":
        raise FileNotFoundError(
            f"backend 'onnx' needs {onnx_path or 'the ONNX file'}, which is missing; train again "
            "with export_onnx on, or use backend 'auto' or 'torch'"
        )
    # Decoders have no int8 file by default (see training.onnx_export); bf16 is their fast path.
    decoder_on_bf16_cpu = kind == "decoder" and device.type == "cpu" and cpu_has_bf16_units()
    cpu_bf16 = backend == "torch-bf16" or (backend == "auto" and decoder_on_bf16_cpu)
    return TorchScorer(model, pad_id, device, cpu_bf16=cpu_bf16)
