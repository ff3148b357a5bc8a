"""Train with the product's defaults on BBC and 20 Newsgroups on this CPU; compare with TF-IDF.

BBC: 100 documents per label to train (90 train + 10 validation), the rest to test.
20 Newsgroups bydate: 100 per label from its train part, scored on its whole test part.

    .venv/bin/python -m benchmarks.accuracy_cpu [--dataset bbc|20news] [--strategy head|chunks]
        [--max-length N] [--epochs N]

Prints one JSON line per run and appends it to benchmarks/results/accuracy_cpu.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.datasets import dataset_folder, label_folders  # noqa: E402
from custom_classifier.config import bundled_base_model  # noqa: E402
from custom_classifier.corpus.models import Document, Split  # noqa: E402
from custom_classifier.corpus.reader import inspect_corpus  # noqa: E402
from custom_classifier.training.arguments import TrainingArguments  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy_cpu.jsonl"
TRAIN_PER_LABEL = 100
VALIDATION_PER_LABEL = 10


def read_documents(root: Path) -> list[Document]:
    corpus = inspect_corpus(root, label_folders(root), min_docs_per_label=1)
    return corpus.documents


def sample_per_label(documents: list[Document], per_label: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    by_label: dict[str, list[Document]] = {}
    for document in documents:
        by_label.setdefault(document.label, []).append(document)
    chosen: list[Document] = []
    for label in sorted(by_label):
        chosen.extend(rng.sample(by_label[label], per_label))
    return chosen


def make_split(dataset: str, seed: int) -> tuple[Split, list[str]]:
    if dataset == "bbc":
        documents = read_documents(dataset_folder("bbc"))
        training = sample_per_label(documents, TRAIN_PER_LABEL, seed)
        chosen = {d.id for d in training}
        test = [d for d in documents if d.id not in chosen]
    else:
        training = sample_per_label(
            read_documents(dataset_folder("20news-train")), TRAIN_PER_LABEL, seed
        )
        test = read_documents(dataset_folder("20news-test"))
    labels = sorted({d.label for d in training})
    validation_ids = {d.id for d in sample_per_label(training, VALIDATION_PER_LABEL, seed + 1)}
    split = Split(
        train=[d for d in training if d.id not in validation_ids],
        validation=[d for d in training if d.id in validation_ids],
        test=test,
    )
    return split, labels


def run(dataset: str, args: TrainingArguments) -> dict[str, object]:
    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training.baseline import train_baseline
    from custom_classifier.training.evaluation import evaluate_predictions
    from custom_classifier.training.trainer import fine_tune

    started = time.perf_counter()
    split, labels = make_split(dataset, args.seed)
    read_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as workdir:
        result = fine_tune(bundled_base_model(), split, labels, args, Path(workdir))
        train_done = time.perf_counter()
        classifier = TextClassifier.load(result.model_dir)
        predictions = classifier.predict([d.text for d in split.test])
    predict_seconds = time.perf_counter() - train_done
    ours = evaluate_predictions(
        [d.label for d in split.test], [p["label"] for p in predictions], labels
    )
    wall = time.perf_counter() - started
    baseline_started = time.perf_counter()
    baseline = train_baseline(split.train + split.validation, split.test, labels)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "dataset": dataset,
        "train_docs": len(split.train) + len(split.validation),
        "test_docs": len(split.test),
        "args": args.to_dict(),
        "best_epoch": result.best_epoch,
        "history": result.history,
        "read_seconds": round(read_seconds, 1),
        "train_seconds": round(result.train_seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "macro_f1": round(ours.macro_f1, 4),
        "accuracy": round(ours.accuracy, 4),
        "baseline_macro_f1": round(baseline.macro_f1, 4),
        "baseline_seconds": round(time.perf_counter() - baseline_started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["bbc", "20news"], action="append")
    parser.add_argument("--strategy", choices=["head", "chunks"])
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--batch-size", type=int)
    options = parser.parse_args()
    overrides = {
        "long_document_strategy": options.strategy,
        "max_length": options.max_length,
        "epochs": options.epochs,
        "learning_rate": options.learning_rate,
        "batch_size": options.batch_size,
    }
    args = replace(TrainingArguments(), **{k: v for k, v in overrides.items() if v is not None})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for dataset in options.dataset or ["bbc", "20news"]:
        line = json.dumps(run(dataset, args))
        print(line, flush=True)
        with RESULTS.open("a") as results:
            results.write(line + "\n")


if __name__ == "__main__":
    main()
