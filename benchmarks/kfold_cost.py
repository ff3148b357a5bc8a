"""What k-fold cross-validation adds to a training at the minimum data size.

    nice .venv/bin/python -m benchmarks.kfold_cost [--dataset bbc] [--labels sport tech]
        [--per-label 100] [--folds 5] [--epochs N] [--max-length N]

Samples `--per-label` documents of two labels into a labeled folder and trains it the way a user
would (`run_training`, the bundled model, the default training options unless given, a real
MLflow store in a temporary home) with `evaluation: kfold`, so the folds run whatever the
budget. Prints one JSON line (also appended to benchmarks/results/kfold_cost.jsonl): the final
training's seconds, the folds' seconds (what k-fold adds), the estimate `auto` would have
compared with its budget before the folds ran, the out-of-fold macro-F1 with its interval beside
the registered model's on the held-out test split, and the load average before and after (the
machine is shared: contention shows in the times).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from benchmarks.gate import SOURCES, sample_folder  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "kfold_cost.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(SOURCES), default="bbc")
    parser.add_argument("--labels", nargs="+", default=["sport", "tech"])
    parser.add_argument("--per-label", type=int, default=100)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    options = parser.parse_args()

    from custom_classifier.config import Settings
    from custom_classifier.jobs.contract import TrainingRequest
    from custom_classifier.jobs.training_run import run_training
    from custom_classifier.training.arguments import TrainingArguments

    overrides = {"epochs": options.epochs, "max_length": options.max_length}
    chosen = {k: v for k, v in overrides.items() if v is not None}
    training = TrainingArguments(evaluation="kfold", folds=options.folds, **chosen)  # type: ignore[arg-type]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cc-kfold-bench-") as tmp:
        folder = Path(tmp) / "data"
        labels = sample_folder(options.dataset, options.per_label, folder, labels=options.labels)
        settings = Settings(home=Path(tmp) / "home", min_docs_per_label=1)
        request = TrainingRequest(
            name="bench", location=str(folder), labels=labels, training=training
        )
        outcome = run_training(request, settings)
    gate = outcome.gate or {}
    evaluation, macro = gate["evaluation"], gate["intervals"]["macro_f1"]
    timings = outcome.timings
    row = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "dataset": options.dataset,
        "labels": labels,
        "per_label": options.per_label,
        "training": chosen or "defaults",
        "evaluation": evaluation["method"],
        "folds": evaluation["folds"],
        "out_of_fold_documents": evaluation["documents"],
        "train_seconds": round(timings.get("train_seconds", 0.0), 1),
        "kfold_seconds": round(timings.get("kfold_seconds", 0.0), 1),
        "kfold_estimated_seconds": round(evaluation.get("estimated_seconds") or 0.0, 1),
        "total_seconds": round(timings.get("total_seconds", 0.0), 1),
        "auto_budget_seconds": Settings().kfold_budget_seconds,
        "macro_f1_out_of_fold": [round(macro[k], 4) for k in ("value", "low", "high")],
        "macro_f1_held_out": round((gate.get("holdout") or {}).get("macro_f1", float("nan")), 4),
        "baseline_verdict": (gate.get("baseline") or {}).get("verdict"),
        "accepted": outcome.accepted,
    }
    line = json.dumps(row)
    print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as results:
        results.write(line + "\n")


if __name__ == "__main__":
    main()
