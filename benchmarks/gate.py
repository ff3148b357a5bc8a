"""What the acceptance gate says, and costs, on real data at the minimum size.

    nice .venv/bin/python -m benchmarks.gate [--dataset bbc|20news] [--per-label 100]
        [--epochs N] [--max-length N]

Samples `--per-label` documents per label (BBC, or 20 Newsgroups' train part) into a labeled
folder and trains it the way a user would (`run_training`: the product's split, the bundled
model, the real MLflow store in a temporary home). Prints one JSON line (also appended to
benchmarks/results/gate.jsonl): the test macro-F1 with its 95 % interval, the baseline and the
verdict, the served backend and the int8 check, ECE before and after calibration, the suggested
threshold, the gate's seconds beside the training's, and the load average (a shared machine's
contention shows in the times).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from benchmarks.datasets import dataset_folder, label_folders  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "gate.jsonl"
SOURCES = {"bbc": "bbc", "20news": "20news-train"}


def sample_folder(
    dataset: str, per_label: int, target: Path, seed: int = 0, labels: list[str] | None = None
) -> list[str]:
    """Copy `per_label` files of each label (all, or `labels`) into `target/<label>/`; return
    the labels."""
    root = dataset_folder(SOURCES[dataset])
    rng = random.Random(seed)
    labels = labels or label_folders(root)
    for label in labels:
        files = sorted(p for p in (root / label).iterdir() if p.is_file())
        (target / label).mkdir(parents=True)
        for file in rng.sample(files, min(per_label, len(files))):
            (target / label / f"{file.name}.txt").write_bytes(file.read_bytes())
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(SOURCES), default="bbc")
    parser.add_argument("--per-label", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    options = parser.parse_args()

    from custom_classifier.config import Settings
    from custom_classifier.jobs.contract import TrainingRequest
    from custom_classifier.jobs.training_run import run_training
    from custom_classifier.training.arguments import TrainingArguments

    overrides = {"epochs": options.epochs, "max_length": options.max_length}
    training = TrainingArguments(**{k: v for k, v in overrides.items() if v is not None})
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cc-gate-bench-") as tmp:
        folder = Path(tmp) / "data"
        labels = sample_folder(options.dataset, options.per_label, folder)
        settings = Settings(home=Path(tmp) / "home", min_docs_per_label=1)
        request = TrainingRequest(
            name="bench", location=str(folder), labels=labels, training=training
        )
        outcome = run_training(request, settings)
    gate = outcome.gate or {}
    calibration, served = gate.get("calibration") or {}, gate.get("served") or {}
    macro = gate["intervals"]["macro_f1"]
    row = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "dataset": options.dataset,
        "per_label": options.per_label,
        "training": {k: v for k, v in overrides.items() if v is not None},
        "evaluation": {
            k: (gate.get("evaluation") or {}).get(k)
            for k in ("method", "reason", "estimated_seconds", "seconds")
        },
        "test_documents": gate["intervals"]["documents"],
        "macro_f1": [round(macro["value"], 4), round(macro["low"], 4), round(macro["high"], 4)],
        "baseline_macro_f1": round(outcome.baseline["macro_f1"], 4),
        "baseline_verdict": (gate.get("baseline") or {}).get("verdict"),
        "baseline_difference": (gate.get("baseline") or {}).get("difference"),
        "accepted": outcome.accepted,
        "reasons": outcome.reasons,
        "served": served.get("backend"),
        "int8_macro_f1": served.get("int8_macro_f1"),
        "exact_macro_f1": served.get("exact_macro_f1"),
        "int8_agreement": served.get("agreement"),
        "temperature": calibration.get("temperature"),
        "test_ece": [calibration.get("test_ece_before"), calibration.get("test_ece_after")],
        "validation_ece": [
            calibration.get("validation_ece_before"),
            calibration.get("validation_ece_after"),
        ],
        "calibration_note": calibration.get("note"),
        "suggested_min_score": calibration.get("suggested"),
        "gate_seconds": round(gate.get("seconds", 0.0), 1),
        "train_seconds": round(outcome.timings.get("train_seconds", 0.0), 1),
        "total_seconds": round(outcome.timings.get("total_seconds", 0.0), 1),
    }
    line = json.dumps(row)
    print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as results:
        results.write(line + "\n")


if __name__ == "__main__":
    main()
