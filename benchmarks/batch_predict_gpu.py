"""A batch prediction's throughput on one GPU: 20 Newsgroups' test documents (bydate test split,
7,532 files) through the product's folder classifier, `classify_folder`, as a batch job runs it.

    python3 -m benchmarks.batch_predict_gpu [--batch-sizes 32,32,256] [--limit N]

What is the product's: `classify_folder` (documents read and extracted ahead by its thread pool,
batches appended to the JSONL, the CSV at the end), `Predictor` (model cache, URI checks) and
`TextClassifier.load` with backend `auto`, which on a CUDA GPU is `cuda-bf16` (bf16 weights).
What stands in: the MLflow registry. mlflow is not on the device and too big to carry, so
`FolderRegistry` resolves the model URI to itself and loads the classifier folder with
`TextClassifier.load`, as the registered pyfunc model's `load_context` does.

The model: the bundled MiniLM (rebuilt in float32 from the carried fp16 copy on the device) with
an untrained 20-label head, window 128, `head` (the CPU benchmark's settings). Its labels are
meaningless: this measures documents per second, not accuracy. Each batch size in
`--batch-sizes` is one whole run into a fresh output folder; the first run loads the model in
its first batch, as a job does, the later ones find it in the predictor's cache.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.gpu_common import base_model, news20_test_folder

MODEL_DIR = Path("/tmp/cc-news20-fresh-head")
MODEL_URI = "models:/bench.news20/1"
WINDOW = 128


@dataclass(frozen=True)
class Resolved:
    uri: str
    min_score: float | None = None


class FolderRegistry:
    """The two methods of `Registry` that `Predictor` calls, over a classifier folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loads = 0

    def resolve_model(self, model_uri: str) -> Resolved:
        return Resolved(model_uri)

    def load_text_classifier(self, model_uri: str) -> Any:
        from custom_classifier.inference.text_classifier import TextClassifier

        self.loads += 1
        return TextClassifier.load(self.folder)


def classifier_folder(labels: list[str]) -> Path:
    """The base model with a fresh (seeded, untrained) head for `labels`, as `fine_tune` lays
    out its folder: the HF model, its tokenizer and `classifier.json`."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    path = base_model()
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))
    model.save_pretrained(MODEL_DIR)
    AutoTokenizer.from_pretrained(path).save_pretrained(MODEL_DIR)
    settings = {"labels": labels, "max_length": WINDOW, "long_document_strategy": "head"}
    (MODEL_DIR / "classifier.json").write_text(json.dumps(settings))
    return MODEL_DIR


def subset(folder: Path, limit: int, target: Path) -> Path:
    """The first `limit` documents of `folder` in sorted order, copied with their label folders."""
    from custom_classifier.inference.folder_predictions import list_documents

    for path in list_documents(folder)[:limit]:
        destination = target / path.relative_to(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    return target


def run_once(predictor: Any, folder: Path, batch_size: int) -> dict[str, Any]:
    from custom_classifier.inference.folder_predictions import BatchProgress, classify_folder

    last: list[BatchProgress] = []
    with tempfile.TemporaryDirectory(prefix="cc-batch-gpu-") as output:
        started = time.perf_counter()
        summary = classify_folder(
            predictor,
            MODEL_URI,
            folder,
            Path(output),
            batch_size=batch_size,
            on_progress=last.append,
        )
        seconds = time.perf_counter() - started
    return {
        "batch_size": batch_size,
        "documents": summary.total,
        "classified": summary.classified,
        "unreadable": summary.unreadable,
        "seconds": round(seconds, 2),
        "docs_per_second": round(summary.total / seconds, 1),
        "job_per_second": round(last[-1].per_second, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="32,32,256")
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    options = parser.parse_args()
    import torch

    from custom_classifier.inference.predictor import Predictor

    folder = news20_test_folder()
    labels = sorted(p.name for p in folder.iterdir() if p.is_dir())
    registry = FolderRegistry(classifier_folder(labels))
    predictor = Predictor(registry, cache_size=1)  # type: ignore[arg-type]  # see FolderRegistry
    with tempfile.TemporaryDirectory(prefix="cc-batch-subset-") as scratch:
        if options.limit:
            folder = subset(folder, options.limit, Path(scratch))
        for batch_size in (int(size) for size in options.batch_sizes.split(",")):
            print(json.dumps(run_once(predictor, folder, batch_size)), flush=True)
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none (CPU)"
    backend = predictor.classifier(MODEL_URI).backend
    print(f"gpu {gpu}, backend {backend}, model loads {registry.loads}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
