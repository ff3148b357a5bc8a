"""Multi-label accuracy on 20 Newsgroups, beside the one-vs-rest TF-IDF baseline, on this CPU.

The bydate archive keeps one copy of a cross-posted message: 7 of its 11,314 training messages
and 4 of its 7,532 test messages have a body found in two groups, too few for a multi-label
set. So the labels are overlapping categories built from the group names, and each message is
written (body only: the headers name the group) into the folder of every category its group
belongs to (`CATEGORIES`): `comp.sys.mac.hardware` -> computers and hardware,
`rec.sport.hockey` -> recreation and sport, `sci.electronics` -> science and hardware, ...
7 of the 20 groups give two labels. The folders are read by the product's reader in `multi`
mode, fine-tuned (`mode="multi"`, BCE), judged by the multi-label gate (per-label thresholds
tuned on the validation documents, the int8 ONNX file checked) and compared with the
one-vs-rest TF-IDF baseline on the same test documents.

    .venv/bin/python -m benchmarks.multilabel_20ng [--train-per-group 40] [--test-per-group 30]
        [--max-length 128] [--epochs 4]

Prints one JSON line and appends it to benchmarks/results/multilabel_20ng.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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
from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "multilabel_20ng.jsonl"
CATEGORIES = {
    "computers": ("comp.",),
    "hardware": ("comp.sys.ibm.pc.hardware", "comp.sys.mac.hardware", "sci.electronics"),
    "science": ("sci.",),
    "recreation": ("rec.",),
    "sport": ("rec.sport.",),
    "vehicles": ("rec.autos", "rec.motorcycles"),
    "politics": ("talk.politics.",),
    "religion": ("alt.atheism", "soc.religion.christian", "talk.religion.misc"),
    "forsale": ("misc.forsale",),
}


def categories_of(group: str) -> list[str]:
    return [name for name, prefixes in CATEGORIES.items() if group.startswith(prefixes)]


def write_folder(source: Path, target: Path, per_group: int, seed: int) -> None:
    """`per_group` messages of each group, body only, in every category folder of the group."""
    rng = random.Random(seed)
    for group in label_folders(source):
        files = sorted((source / group).iterdir())
        for path in rng.sample(files, per_group):
            raw = path.read_bytes().decode("latin-1")
            body = raw.split("\n\n", 1)[-1]
            for category in categories_of(group):
                folder = target / category
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{group}-{path.name}.txt").write_text(body, encoding="utf-8")


def read(folder: Path) -> list[Document]:
    corpus = inspect_corpus(folder, list(CATEGORIES), min_docs_per_label=1, mode="multi")
    return corpus.documents


def make_split(root: Path, train_per_group: int, test_per_group: int, seed: int) -> Split:
    write_folder(dataset_folder("20news-train"), root / "train", train_per_group, seed)
    write_folder(dataset_folder("20news-test"), root / "test", test_per_group, seed)
    training = read(root / "train")
    random.Random(seed).shuffle(training)
    cut = len(training) // 10
    return Split(train=training[cut:], validation=training[:cut], test=read(root / "test"))


def run(options: argparse.Namespace, args: TrainingArguments) -> dict[str, object]:
    from custom_classifier.jobs.gate_multilabel import judge_multilabel
    from custom_classifier.training.baseline import train_multilabel_baseline
    from custom_classifier.training.trainer import fine_tune

    labels = list(CATEGORIES)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        split = make_split(Path(workdir), options.train_per_group, options.test_per_group, 0)
        result = fine_tune(bundled_base_model(), split, labels, args, Path(workdir) / "run")
        gate_started = time.perf_counter()
        # As the training job does: fitted on the training documents, thresholds tuned on
        # the validation ones (at 0.5 beside it, for reference).
        baseline = train_multilabel_baseline(split.train, split.test, labels, split.validation)
        at_half = train_multilabel_baseline(split.train + split.validation, split.test, labels)
        gate = judge_multilabel(
            result.model_dir,
            split,
            labels,
            AcceptanceCriteria(),
            baseline_predictions=lambda: None,
            champion=None,
            min_score=0.0,
        )
    ours = gate.evaluation
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "train_docs": len(split.train) + len(split.validation),
        "test_docs": len(split.test),
        "two_label_test_docs": sum(len(d.label_set) > 1 for d in split.test),
        "args": args.to_dict(),
        "best_epoch": result.best_epoch,
        "history": result.history,
        "train_seconds": round(result.train_seconds, 1),
        "gate_seconds": round(time.perf_counter() - gate_started, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "served_backend": gate.served.backend,
        "int8_agreement": gate.served.agreement,
        "thresholds": {k: round(v, 3) for k, v in (gate.thresholds or {}).items()},
        "micro_f1": round(ours.micro_f1 or 0.0, 4),
        "macro_f1": round(ours.macro_f1, 4),
        "macro_f1_interval": [
            round(gate.intervals.macro_f1.low, 4),
            round(gate.intervals.macro_f1.high, 4),
        ],
        "subset_accuracy": round(ours.accuracy, 4),
        "hamming_loss": round(ours.hamming_loss or 0.0, 4),
        "baseline_micro_f1": round(baseline.micro_f1 or 0.0, 4),
        "baseline_macro_f1": round(baseline.macro_f1, 4),
        "baseline_subset_accuracy": round(baseline.accuracy, 4),
        "baseline_at_half_micro_f1": round(at_half.micro_f1 or 0.0, 4),
        "baseline_at_half_macro_f1": round(at_half.macro_f1, 4),
        "per_label_f1": {k: round(v.f1, 3) for k, v in ours.per_label.items()},
    }


def baselines(options: argparse.Namespace) -> dict[str, object]:
    """The one-vs-rest baseline alone on the same split, tuned and at 0.5."""
    from custom_classifier.training.baseline import train_multilabel_baseline

    labels = list(CATEGORIES)
    with tempfile.TemporaryDirectory() as workdir:
        split = make_split(Path(workdir), options.train_per_group, options.test_per_group, 0)
    tuned = train_multilabel_baseline(split.train, split.test, labels, split.validation)
    at_half = train_multilabel_baseline(split.train + split.validation, split.test, labels)
    return {
        "test_docs": len(split.test),
        "baseline_micro_f1": round(tuned.micro_f1 or 0.0, 4),
        "baseline_macro_f1": round(tuned.macro_f1, 4),
        "baseline_subset_accuracy": round(tuned.accuracy, 4),
        "baseline_at_half_micro_f1": round(at_half.micro_f1 or 0.0, 4),
        "baseline_at_half_macro_f1": round(at_half.macro_f1, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-per-group", type=int, default=40)
    parser.add_argument("--test-per-group", type=int, default=30)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--baseline-only", action="store_true", help="skip the fine-tuning")
    options = parser.parse_args()
    if options.baseline_only:
        print(json.dumps(baselines(options)))
        return
    args = replace(
        TrainingArguments(),
        mode="multi",
        max_length=options.max_length,
        epochs=options.epochs,
        learning_rate=options.learning_rate or TrainingArguments().learning_rate,
    )
    line = json.dumps(run(options, args))
    print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as results:
        results.write(line + "\n")


if __name__ == "__main__":
    main()
