"""A fine-tuned classifier folder loaded for prediction, plus the long-document window logic.

This module is shipped inside the MLflow model as a code file, so it imports nothing else from
`custom_classifier`: training imports its window helpers from here (through `training.chunking`)
so that training and prediction cut documents the same way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PreTrainedModel,
)

CLASSIFIER_FILE = "classifier.json"
ONNX_FILE = "model.int8.onnx"
"""The int8 ONNX copy of the model that training writes next to the weights, for CPU prediction."""
_TOKENIZE_SLICE = 512  # texts tokenized per call, to bound the memory of Python token lists

Backend = Literal["auto", "onnx", "torch", "torch-bf16"]
"""How windows are scored. `auto`: on a CUDA GPU, bf16 weights with single windows replayed
through CUDA graphs; on a CPU, ONNX Runtime (int8) when the folder has `ONNX_FILE` and
onnxruntime is installed; else `torch`: PyTorch as trained (bf16 autocast on a GPU, fp32 on a
CPU), except decoder models on CPUs with bf16 units, which take `torch-bf16`. `torch-bf16` is
PyTorch with bf16 autocast on the CPU too (fast only with bf16 units)."""

logger = logging.getLogger(__name__)


def effective_stride(tokenizer: Any, max_length: int, stride: int) -> int:
    """`stride` clamped to half a window's content, so that every window moves the text forward."""
    content = max_length - tokenizer.num_special_tokens_to_add()
    return max(0, min(stride, content // 2))


def build_windows(
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    strategy: str,
    stride: int,
    max_windows: int | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Token ids of each window and the index of the document each window comes from.

    `head` gives one window per document: its first `max_length` tokens. `chunks` gives
    overlapping windows of `max_length` tokens sharing `stride` tokens, covering the whole
    document; `max_windows` keeps at most that many, evenly spread over the document.
    Every document, even an empty one, has at least one window.
    """
    if strategy not in ("head", "chunks"):
        raise ValueError(f"long_document_strategy must be 'head' or 'chunks', not {strategy!r}")
    windows: list[np.ndarray] = []
    doc_index: list[int] = []
    for start in range(0, len(texts), _TOKENIZE_SLICE):
        part = list(texts[start : start + _TOKENIZE_SLICE])
        if strategy == "head":
            ids = tokenizer(part, truncation=True, max_length=max_length)["input_ids"]
            mapping = list(range(len(part)))
        else:
            encoded = tokenizer(
                part,
                truncation=True,
                max_length=max_length,
                stride=effective_stride(tokenizer, max_length, stride),
                return_overflowing_tokens=True,
            )
            ids, mapping = encoded["input_ids"], encoded["overflow_to_sample_mapping"]
        for position in _keep_windows(mapping, max_windows):
            windows.append(np.asarray(ids[position], dtype=np.int32))
            doc_index.append(start + mapping[position])
    return windows, np.asarray(doc_index, dtype=np.int64)


def _keep_windows(mapping: Sequence[int], max_windows: int | None) -> list[int]:
    """Positions of the windows to keep: all, or `max_windows` evenly spread per document."""
    if max_windows is None:
        return list(range(len(mapping)))
    by_doc: dict[int, list[int]] = {}
    for position, doc in enumerate(mapping):
        by_doc.setdefault(doc, []).append(position)
    kept: list[int] = []
    for positions in by_doc.values():
        if len(positions) <= max_windows:
            kept.extend(positions)
        else:
            picks = np.linspace(0, len(positions) - 1, max_windows).round().astype(int)
            kept.extend(positions[i] for i in picks)
    return kept


def length_sorted_batches(windows: Sequence[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Window positions grouped into batches of similar length, so little padding is needed."""
    order = np.argsort([len(w) for w in windows], kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def cpu_has_bf16_units() -> bool:
    """True on CPUs with native bf16 arithmetic (AVX512-BF16 or AMX), where bf16 autocast is
    two to three times faster than float32; elsewhere it would be slower."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, probe, lambda: False)()) for probe in probes)


def autocast_for(device: torch.device, *, cpu_bf16: bool = False) -> Any:
    """bf16 autocast on a CUDA GPU that supports it (on a CPU only if `cpu_bf16`); else none."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
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


def pad_windows(windows: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Input ids and attention mask (int64) of `windows`, right-padded to the longest."""
    width = max(len(w) for w in windows)
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, window in enumerate(windows):
        ids[row, : len(window)] = window
        mask[row, : len(window)] = 1
    return ids, mask


def make_collator(tokenizer: Any, device: torch.device) -> DataCollatorWithPadding:
    """Dynamic padding to the longest window of a batch (a multiple of 8 on a GPU's tensor cores)."""
    return DataCollatorWithPadding(
        tokenizer, pad_to_multiple_of=8 if device.type == "cuda" else None
    )


def collate(
    collator: DataCollatorWithPadding, windows: Sequence[np.ndarray], device: torch.device
) -> dict[str, torch.Tensor]:
    """A padded batch (input ids and attention mask) on `device`."""
    batch = collator([{"input_ids": w.tolist()} for w in windows])
    return {key: value.to(device) for key, value in batch.items()}


@torch.inference_mode()
def window_logits(
    model: PreTrainedModel,
    collator: DataCollatorWithPadding,
    windows: Sequence[np.ndarray],
    *,
    batch_size: int,
    device: torch.device,
    cpu_bf16: bool = False,
) -> np.ndarray:
    """Float32 logits of every window, in the order of `windows`."""
    logits = np.zeros((len(windows), int(model.config.num_labels or 0)), dtype=np.float32)
    for batch in length_sorted_batches(windows, batch_size):
        inputs = collate(collator, [windows[i] for i in batch], device)
        with autocast_for(device, cpu_bf16=cpu_bf16), attention_kernels(device):
            output = model(**inputs).logits
        logits[batch] = output.float().cpu().numpy()
    return logits


class OnnxWindowScorer:
    """Window logits from an ONNX model through ONNX Runtime on the CPU."""

    def __init__(self, path: Path, pad_id: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.pad_id = pad_id

    def __call__(self, windows: Sequence[np.ndarray], *, batch_size: int) -> np.ndarray:
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for batch in length_sorted_batches(windows, batch_size):
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


class CudaWindowScorer:
    """Window logits on a CUDA GPU from a bf16 model; a single window (a one-document request)
    replays a CUDA graph captured for its length, which removes the kernel-launch overhead."""

    def __init__(self, model: PreTrainedModel, pad_id: int, device: torch.device) -> None:
        self.model, self.pad_id, self.device = model, pad_id, device
        self.graph_capacity = 16
        self._graphs: OrderedDict[int, tuple[torch.Tensor, Any, torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()
        self._graphs_work = True

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
        with self._lock:
            entry = self._graphs.get(len(window))
            if entry is None:
                entry = self._capture(len(window))
            self._graphs.move_to_end(len(window))
            ids, graph, output = entry
            ids.copy_(torch.from_numpy(window.astype(np.int64)).view(1, -1))
            graph.replay()
            return output.float().cpu().numpy()

    def _capture(self, length: int) -> tuple[torch.Tensor, Any, torch.Tensor]:
        ids = torch.full((1, length), self.pad_id, dtype=torch.long, device=self.device)
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream), attention_kernels(self.device):
            for _ in range(2):  # warm-up outside the graph, as CUDA graphs require
                self.model(input_ids=ids)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), attention_kernels(self.device):
            output = self.model(input_ids=ids).logits
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


def document_probabilities(
    logits: np.ndarray, doc_index: np.ndarray, n_documents: int
) -> np.ndarray:
    """Softmax of each document's mean window logits; rows sum to 1."""
    sums = np.zeros((n_documents, logits.shape[1]), dtype=np.float64)
    np.add.at(sums, doc_index, logits)
    counts = np.bincount(doc_index, minlength=n_documents).clip(min=1)
    mean = sums / counts[:, None]
    exp = np.exp(mean - mean.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class TextClassifier:
    """A fine-tuned model, its tokenizer and its labels; `predict` returns label strings."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        labels: list[str],
        *,
        max_length: int,
        long_document_strategy: str = "head",
        chunk_stride: int = 0,
        device: torch.device | None = None,
        backend: Backend = "torch",
        onnx_path: Path | None = None,
        kind: str = "encoder",
    ) -> None:
        self.device = device or default_device()
        self.model = model
        self.model.to(self.device)  # type: ignore[arg-type]  # transformers types `to` oddly
        self.model.eval()
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.long_document_strategy = long_document_strategy
        self.chunk_stride = chunk_stride
        self.kind = kind
        self._collator = make_collator(tokenizer, self.device)
        self._onnx: OnnxWindowScorer | None = None
        self._cuda: CudaWindowScorer | None = None
        self.backend = self._choose_backend(backend, onnx_path)

    @property
    def _pad_id(self) -> int:
        pad_id = self.tokenizer.pad_token_id
        return 0 if pad_id is None else int(pad_id)

    def _choose_backend(self, backend: Backend, onnx_path: Path | None) -> str:
        if backend not in ("auto", "onnx", "torch", "torch-bf16"):
            raise ValueError(
                f"backend must be 'auto', 'onnx', 'torch' or 'torch-bf16', not {backend!r}"
            )
        if backend == "auto" and self.device.type == "cuda" and torch.cuda.is_bf16_supported():
            self.model.to(torch.bfloat16)  # type: ignore[arg-type]
            self._cuda = CudaWindowScorer(self.model, self._pad_id, self.device)
            return "cuda-bf16"
        wants_onnx = backend == "onnx" or (backend == "auto" and self.device.type == "cpu")
        if wants_onnx and onnx_path is not None and onnx_path.is_file():
            if onnx_runtime_available():
                self._onnx = OnnxWindowScorer(onnx_path, self._pad_id)
                return "onnx"
            logger.info("onnxruntime is not installed: predicting with PyTorch")
        elif backend == "onnx":
            raise FileNotFoundError(
                f"backend 'onnx' needs {onnx_path or ONNX_FILE}, which is missing; train again "
                "with export_onnx on, or use backend 'auto' or 'torch'"
            )
        if backend == "torch-bf16" or (backend == "auto" and self._decoder_on_bf16_cpu()):
            return "torch-bf16"
        if self.device.type == "cpu":
            self.model.float()  # weights saved in bf16 (a GPU training) compute in float32 here
        return "torch"

    def _decoder_on_bf16_cpu(self) -> bool:
        # Decoders have no int8 file by default (see training.onnx_export); bf16 is their fast path.
        return self.kind == "decoder" and self.device.type == "cpu" and cpu_has_bf16_units()

    @classmethod
    def load(
        cls, model_dir: str | Path, device: torch.device | None = None, backend: Backend = "auto"
    ) -> TextClassifier:
        """Load a folder written by `fine_tune`: the HF model, its tokenizer and `classifier.json`.

        `backend` `auto` predicts with the folder's int8 ONNX model on a CPU when onnxruntime is
        installed, and with PyTorch otherwise (see `Backend`).
        """
        folder = Path(model_dir)
        settings_file = folder / CLASSIFIER_FILE
        if not settings_file.is_file():
            raise FileNotFoundError(
                f"{settings_file} is missing; expected a folder written by fine_tune "
                "(a Hugging Face model, its tokenizer and classifier.json)"
            )
        settings = json.loads(settings_file.read_text(encoding="utf-8"))
        return cls(
            AutoModelForSequenceClassification.from_pretrained(folder),
            AutoTokenizer.from_pretrained(folder),
            list(settings["labels"]),
            max_length=int(settings["max_length"]),
            long_document_strategy=settings.get("long_document_strategy", "head"),
            chunk_stride=int(settings.get("chunk_stride", 0)),
            device=device,
            backend=backend,
            onnx_path=folder / ONNX_FILE,
            kind=settings.get("kind", "encoder"),
        )

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One row of label probabilities per text, columns in `labels` order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        windows, doc_index = self.windows(texts)
        logits = self.window_logits(windows, batch_size=batch_size)
        return document_probabilities(logits, doc_index, len(texts))

    def windows(self, texts: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """The token windows of `texts` and the text each window comes from."""
        return build_windows(
            self.tokenizer,
            texts,
            max_length=self.max_length,
            strategy=self.long_document_strategy,
            stride=self.chunk_stride,
        )

    def window_logits(self, windows: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Float32 logits of each window, from the chosen backend."""
        if self._onnx is not None:
            return self._onnx(windows, batch_size=batch_size)
        if self._cuda is not None:
            return self._cuda(windows, batch_size=batch_size)
        return window_logits(
            self.model,
            self._collator,
            windows,
            batch_size=batch_size,
            device=self.device,
            cpu_bf16=self.backend == "torch-bf16",
        )

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[dict[str, Any]]:
        """For each text: the most likely `label`, its `score` and every label's probability."""
        results = []
        for row in self.predict_proba(texts, batch_size=batch_size):
            best = int(row.argmax())
            results.append(
                {
                    "label": self.labels[best],
                    "score": float(row[best]),
                    "scores": {label: float(p) for label, p in zip(self.labels, row, strict=True)},
                }
            )
        return results
