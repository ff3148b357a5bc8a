"""Prediction on this CPU: our `TextClassifier` against `transformers.pipeline`, same run.

    .venv/bin/python -m benchmarks.predict_cpu [--rounds 5]

The model: the bundled MiniLM fine-tuned on BBC (100 documents per label, window 128, 2 epochs,
the product's `fine_tune`, so with its int8 ONNX export), built once into benchmarks/.data.
Each round measures every variant once, interleaved; the figures are medians over rounds.
Variants: the baseline `pipeline("text-classification")`; ours with the default backend (ONNX
Runtime int8); ours tokenizing whole texts (as before `inference.head_window`); PyTorch fp32
(the reference for labels) and PyTorch with bf16 autocast.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.datasets import CACHE  # noqa: E402
from benchmarks.gpu_common import base_model, read_bbc  # noqa: E402
from custom_classifier.inference.head_window import HeadWindow  # noqa: E402
from custom_classifier.inference.text_classifier import TextClassifier  # noqa: E402
from custom_classifier.inference.window_scorers import CudaGraphScorer  # noqa: E402

MODEL_DIR = CACHE / "bbc-cpu-model"
PER_LABEL = 100


def trained_model() -> Path:
    if (MODEL_DIR / "model" / "classifier.json").is_file():
        return MODEL_DIR / "model"
    from custom_classifier.corpus.models import Split
    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.trainer import fine_tune

    documents, labels = read_bbc()
    train = [d for label in labels for d in [x for x in documents if x.label == label][:PER_LABEL]]
    args = replace(TrainingArguments(), epochs=2, max_length=128)
    split = Split(train=train, validation=[], test=[])
    return fine_tune(base_model(), split, labels, args, MODEL_DIR).model_dir


class WholeTextClassifier(TextClassifier):
    """Ours as before `inference.head_window`: the tokenizer's truncating call tokenizes each
    whole text, however little of it the window keeps."""

    def _head_window(self) -> None:
        return None


class RustPiecesHeadWindow(HeadWindow):
    """The head window as before remembered words (main at dd10edf): plain pieces through the
    tokenizers library's pre-tokenizer and WordPiece model, its normalizer off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from tokenizers import Tokenizer

        super().__init__(*args, **kwargs)
        self._plain = Tokenizer.from_str(self._normalizing.to_str())
        self._plain.normalizer = None

    def _encode_plain(self, pieces: list[str]) -> list[list[int]]:
        if len(pieces) <= 1:
            results = [self._plain.encode(piece, add_special_tokens=False) for piece in pieces]
        else:
            results = self._plain.encode_batch(pieces, add_special_tokens=False)
        return [list(result.ids) for result in results]


class BeforeClassifier(TextClassifier):
    """Ours as on main at dd10edf: `RustPiecesHeadWindow`, and on a GPU one-window graphs
    captured with the attention mask transformers builds (5.17 builds one in a capture)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.scorer, CudaGraphScorer):
            self.scorer._unmasked = False

    def _head_window(self) -> HeadWindow | None:
        if self.max_length not in self._head_windows:
            self._head_windows[self.max_length] = RustPiecesHeadWindow.for_tokenizer(
                self.tokenizer, self.max_length
            )
        return self._head_windows[self.max_length]


def median_seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cold_start(model_dir: Path, backend: str) -> float:
    """Seconds from a fresh interpreter to the first prediction (imports and load included)."""
    code = (
        "import time; t = time.perf_counter();"
        "from custom_classifier.inference.text_classifier import TextClassifier;"
        f"c = TextClassifier.load({str(model_dir)!r}, backend={backend!r});"
        "c.predict(['a first document about the economy']);"
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    import numpy as np
    import torch
    from transformers import pipeline

    torch.set_num_threads(os.cpu_count() or 1)
    model_dir = trained_model()
    documents, _ = read_bbc()
    texts = [d.text for d in documents[PER_LABEL // 2 :: 5]][:384]
    pipe = pipeline("text-classification", model=str(model_dir), device=-1)
    ours = TextClassifier.load(model_dir)
    whole = WholeTextClassifier.load(model_dir)
    fp32 = TextClassifier.load(model_dir, backend="torch")
    bf16 = TextClassifier.load(model_dir, backend="torch-bf16")
    assert ours.backend == "onnx", ours.backend

    def at(classifier: TextClassifier, length: int, strategy: str = "head") -> TextClassifier:
        classifier.max_length, classifier.long_document_strategy = length, strategy
        classifier.chunk_stride = 32
        return classifier

    def pipe_run(chunk: list[str], length: int) -> Any:
        return pipe(chunk, batch_size=32, truncation=True, max_length=length)

    one, batch = texts[:1], texts[:32]
    long_one = [max((d.text for d in documents), key=len)]  # 25,484 characters
    cases: dict[str, Callable[[], object]] = {}
    variants = (("ours", ours), ("ours_whole_text", whole), ("fp32", fp32), ("bf16", bf16))
    for length, docs in ((128, one), (512, one), (512, long_one), (128, batch), (512, batch)):
        key = f"{length}_b{len(docs)}" + ("_long" if docs is long_one else "")
        cases[f"pipeline_{key}"] = lambda d=docs, n=length: pipe_run(d, n)
        for name, classifier in variants:
            cases[f"{name}_{key}"] = lambda c=classifier, d=docs, n=length: at(c, n).predict(d)
    long_docs = texts[:32]
    for name, classifier in (("ours", ours), ("fp32", fp32)):
        cases[f"{name}_chunks128_b32"] = lambda c=classifier: at(c, 128, "chunks").predict(
            long_docs
        )
    for fn in cases.values():  # warm-up
        fn()
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(options.rounds):
        for name, fn in cases.items():
            repeats = 5 if name.endswith("_b1") else 1
            timings[name].append(min(median_seconds(fn) for _ in range(repeats)))
    medians = {name: statistics.median(values) for name, values in timings.items()}

    agreement = {}
    for length in (128, 512):
        reference = at(fp32, length).predict_proba(texts).argmax(axis=1)
        for name, classifier in (("ours", ours), ("bf16", bf16)):
            labels = at(classifier, length).predict_proba(texts).argmax(axis=1)
            agreement[f"{name}_{length}"] = float(np.mean(labels == reference))
    cold = {
        b: statistics.median(cold_start(model_dir, b) for _ in range(3)) for b in ("auto", "torch")
    }

    report = {
        "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "median_seconds": {k: round(v, 4) for k, v in medians.items()},
        "label_agreement_with_fp32": agreement,
        "cold_start_seconds": cold,
    }
    print(json.dumps(report))
    for key, docs in (
        ("128_b1", 1),
        ("512_b1", 1),
        ("512_b1_long", 1),
        ("128_b32", 32),
        ("512_b32", 32),
        ("chunks128_b32", 32),
    ):
        base = "pipeline_" + key if not key.startswith("chunks") else "fp32_" + key
        for name in ("ours", "ours_whole_text", "bf16", "fp32"):
            if f"{name}_{key}" not in medians or f"{name}_{key}" == base:
                continue
            if docs == 1:
                print(
                    f"{key}: {name} {medians[f'{name}_{key}'] * 1000:.1f} ms, {base} "
                    f"{medians[base] * 1000:.1f} ms, speed-up {medians[base] / medians[f'{name}_{key}']:.2f}x"
                )
            else:
                print(
                    f"{key}: {name} {docs / medians[f'{name}_{key}']:.1f} docs/s, {base} "
                    f"{docs / medians[base]:.1f} docs/s, ratio {medians[base] / medians[f'{name}_{key}']:.2f}x"
                )
    print(f"labels equal to fp32 PyTorch: {agreement}; cold start to first prediction: {cold}")


if __name__ == "__main__":
    main()
