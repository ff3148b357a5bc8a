"""The training job on this CPU: from its start to the version registered, and to its end.

    PYTHONPATH=src .venv/bin/python -m benchmarks.job_registered_cpu [--per-label 30] [--repeats 2]

The real use case (`jobs.training_run.run_training`) with a fresh SQLite MLflow store: read,
train, gate, log, register. A BBC subset (the first `--per-label` documents of each label),
the bundled MiniLM, 1 epoch at window 128, held-out evaluation: small, so that the export's
cost (the same for any data) stands out on two shared cores. "Registered" is when the job
reports the phase that follows registration: `int8` where the int8 file is made after the
verdict, `done` where it was made before (point `PYTHONPATH` at another checkout's `src` to
measure that code). Runs the job `--repeats` times in one process, as a warm worker would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from benchmarks.datasets import dataset_folder, label_folders  # noqa: E402

AFTER_REGISTRATION = ("int8", "done")


def subset(target: Path, per_label: int) -> tuple[Path, list[str]]:
    root = dataset_folder("bbc")
    labels = label_folders(root)
    for label in labels:
        (target / label).mkdir(parents=True)
        for file in sorted((root / label).iterdir())[:per_label]:
            shutil.copy(file, target / label / file.name)
    return target, labels


def one_job(folder: Path, labels: list[str], home: Path, name: str) -> dict[str, Any]:
    from custom_classifier.config import Settings, bundled_base_model
    from custom_classifier.jobs.contract import TrainingRequest
    from custom_classifier.jobs.training_run import run_training
    from custom_classifier.training.arguments import AcceptanceCriteria, TrainingArguments

    settings = Settings(home=home, min_docs_per_label=5, base_model=bundled_base_model())
    args = TrainingArguments(epochs=1, max_length=128, evaluation="holdout")
    request = TrainingRequest(
        name=name,
        location=str(folder),
        labels=labels,
        training=args,
        acceptance=AcceptanceCriteria(min_macro_f1=0.0, min_label_f1=0.0, beat_baseline=False),
    )
    marks: dict[str, float] = {}

    def report(progress: Any) -> None:
        if progress.phase in AFTER_REGISTRATION and "registered" not in marks:
            marks["registered"] = time.perf_counter()

    started = time.perf_counter()
    outcome = run_training(request, settings, on_progress=report)
    ended = time.perf_counter()
    served = (outcome.gate or {}).get("served") or {}
    return {
        "until_registered_s": round(marks["registered"] - started, 2),
        "until_job_end_s": round(ended - started, 2),
        "export_inside_training_s": round(outcome.timings.get("export_seconds", 0.0), 2),
        "log_and_register_s": round(outcome.timings.get("log_seconds", 0.0), 2),
        "int8_after_registration_s": round(outcome.timings.get("int8_seconds", 0.0), 2),
        "served_backend": served.get("backend"),
        "int8_agreement": served.get("agreement"),
        "test_macro_f1": round(outcome.metrics["macro_f1"], 4),
        "registered": outcome.registered_model is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-label", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    options = parser.parse_args()
    import custom_classifier

    print(json.dumps({"code": str(Path(custom_classifier.__file__).parents[1])}), flush=True)
    with tempfile.TemporaryDirectory(prefix="cc-job-bench-") as tmp:
        folder, labels = subset(Path(tmp) / "bbc", options.per_label)
        for attempt in range(1, options.repeats + 1):
            result = one_job(folder, labels, Path(tmp) / "home", f"bbc{attempt}")
            print(json.dumps({"attempt": attempt, **result}), flush=True)


if __name__ == "__main__":
    main()
