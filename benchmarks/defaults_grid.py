"""Choose the default window and long-document strategy: a grid of training arguments on BBC and
20 Newsgroups with the CPU's batch size and learning rate, run on a GPU to finish in minutes.

The work is the CPU accuracy benchmark's (`benchmarks.accuracy_cpu`): 100 documents per label to
train (10 of them validation), BBC's rest or 20 Newsgroups' whole test part to score. It reads
the archives directly (the device machine lacks the product's extraction libraries), so it
needs only torch, transformers and scikit-learn:

    .venv/bin/python -m benchmarks.defaults_grid --prepare      # fills .device-carry/ here
    run(carry=[".device-carry"]): PYTHONPATH=src:. python3 -m benchmarks.defaults_grid \
        --grid head:128,head:256,head:512,chunks:256 --out $OUT/grid.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tarfile
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.gpu_common import CARRY, base_model
from custom_classifier.corpus.models import Document, Split
from custom_classifier.training.arguments import TrainingArguments

NEWS_ARCHIVE = CARRY / "20news-sample.tar.gz"
TRAIN_PER_LABEL, VALIDATION_PER_LABEL = 100, 10


def prepare() -> None:
    """A smaller 20 Newsgroups archive: 150 train documents per label and the whole test part."""
    from benchmarks.datasets import dataset_folder

    CARRY.mkdir(exist_ok=True)
    rng = random.Random(0)
    with tarfile.open(NEWS_ARCHIVE, "w:gz") as tar:
        for part in ("20news-train", "20news-test"):
            root = dataset_folder(part)
            for label in sorted(p for p in root.iterdir() if p.is_dir()):
                files = sorted(label.iterdir())
                if part == "20news-train":
                    files = rng.sample(files, 150)
                for file in files:
                    tar.add(file, arcname=f"{root.name}/{label.name}/{file.name}")
    print(NEWS_ARCHIVE, NEWS_ARCHIVE.stat().st_size)


def read_archive(archive: Path, top: str) -> list[Document]:
    documents, seen = [], set()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or parts[0] != top or len(parts) != 3:
                continue
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
            if text.strip() and digest not in seen:
                seen.add(digest)
                documents.append(Document(id=member.name, label=parts[1], text=text))
    return documents


def per_label(documents: list[Document], count: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    labels = sorted({d.label for d in documents})
    return [
        d for label in labels for d in rng.sample([x for x in documents if x.label == label], count)
    ]


def make_split(dataset: str, seed: int) -> Split:
    if dataset == "bbc":
        documents = read_archive(CARRY / "bbc.tar.gz", "bbc")
        training = per_label(documents, TRAIN_PER_LABEL, seed)
        chosen = {d.id for d in training}
        test = [d for d in documents if d.id not in chosen]
    else:
        training = per_label(
            read_archive(NEWS_ARCHIVE, "20news-bydate-train"), TRAIN_PER_LABEL, seed
        )
        test = read_archive(NEWS_ARCHIVE, "20news-bydate-test")
    validation = {d.id for d in per_label(training, VALIDATION_PER_LABEL, seed + 1)}
    return Split(
        train=[d for d in training if d.id not in validation],
        validation=[d for d in training if d.id in validation],
        test=test,
    )


def run(dataset: str, args: TrainingArguments) -> dict[str, object]:
    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training.baseline import train_baseline
    from custom_classifier.training.evaluation import evaluate_predictions
    from custom_classifier.training.trainer import fine_tune

    split = make_split(dataset, args.seed)
    labels = sorted({d.label for d in split.train})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        result = fine_tune(base_model(), split, labels, args, Path(workdir))
        classifier = TextClassifier.load(result.model_dir, backend="torch")
        predicted = [p["label"] for p in classifier.predict([d.text for d in split.test])]
    ours = evaluate_predictions([d.label for d in split.test], predicted, labels)
    baseline = train_baseline(split.train + split.validation, split.test, labels)
    return {
        "dataset": dataset,
        "strategy": args.long_document_strategy,
        "max_length": args.max_length,
        "learning_rate": args.learning_rate,
        "epochs": args.epochs,
        "patience": args.early_stopping_patience,
        "seed": args.seed,
        "best_epoch": result.best_epoch,
        "val_macro_f1": [round(h.get("val_macro_f1", 0), 3) for h in result.history],
        "macro_f1": round(ours.macro_f1, 4),
        "baseline_macro_f1": round(baseline.macro_f1, 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--grid", default="head:128,head:256,head:512,chunks:256")
    parser.add_argument("--datasets", default="bbc,20news")
    parser.add_argument("--learning-rates", default="1e-4")
    parser.add_argument("--epochs", type=int, default=TrainingArguments().epochs)
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--patience", type=int, default=TrainingArguments().early_stopping_patience)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    if options.prepare:
        prepare()
        return
    for dataset in options.datasets.split(","):
        for cell in options.grid.split(","):
            strategy, max_length = cell.split(":")
            for learning_rate in map(float, options.learning_rates.split(",")):
                for seed in map(int, options.seeds.split(",")):
                    args = replace(
                        TrainingArguments(),
                        long_document_strategy=strategy,  # type: ignore[arg-type]
                        max_length=int(max_length),
                        learning_rate=learning_rate,
                        # The CPU's batch and learning rate, so the scores are the CPU's.
                        gpu_batch_size=None,
                        gpu_learning_rate=None,
                        epochs=options.epochs,
                        early_stopping_patience=options.patience,
                        seed=seed,
                        export_onnx=False,
                    )
                    line = json.dumps(run(dataset, args))
                    print(line, flush=True)
                    if options.out:
                        with options.out.open("a") as out:
                            out.write(line + "\n")


if __name__ == "__main__":
    main()
