"""Peak resident memory of the whole `custom-classifier train` command on this CPU.

Runs the real command under `/usr/bin/time -v` on every document of BBC (2,225) and of the
20 Newsgroups training part (11,314), window 512, a fresh home (SQLite, MLflow) per run, and
records the peak RSS (the largest of the process tree's members: the training process itself),
the wall time and the training windows per second.

    .venv/bin/python -m benchmarks.train_memory_cpu [--dataset bbc|20news ...] [--epochs N]
        [--max-length N] [--tag TEXT] [--source SRC]

Peak memory does not depend on the number of epochs (each epoch walks the same windows and
keeps nothing), so `--epochs 1` (the default) measures it. `--source` runs another checkout's
package (its `src` folder), e.g. main's code for a before/after comparison. Prints one JSON line
per run and appends it to benchmarks/results/train_memory_cpu.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.datasets import dataset_folder, label_folders

RESULTS = Path(__file__).resolve().parent / "results" / "train_memory_cpu.jsonl"
DATASETS = {"bbc": "bbc", "20news": "20news-train"}
_TIME_FIELDS = {
    "max_rss_kb": "Maximum resident set size (kbytes)",
    "user_seconds": "User time (seconds)",
    "system_seconds": "System time (seconds)",
    "wall": "Elapsed (wall clock) time (h:mm:ss or m:ss)",
}


def parse_time_report(text: str) -> dict[str, float]:
    """The fields of GNU time's `-v` report this benchmark keeps, as numbers."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.strip().rpartition(": ")
        for key, label in _TIME_FIELDS.items():
            if name == label:
                values[key] = _wall_seconds(value) if key == "wall" else float(value)
    return values


def _wall_seconds(value: str) -> float:
    parts = [float(p) for p in re.split(r":", value)]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def train_command(root: Path, epochs: int, max_length: int) -> list[str]:
    executable = shutil.which("custom-classifier", path=str(Path(sys.executable).parent))
    if executable is None:
        raise SystemExit("custom-classifier is not installed in this environment")
    labels = [arg for name in label_folders(root) for arg in ("--label", name)]
    return [
        executable,
        "train",
        str(root),
        "--name",
        "memory-benchmark",
        *labels,
        "--epochs",
        str(epochs),
        "--max-length",
        str(max_length),
        "--evaluation",
        "holdout",
        "--json",
    ]


def run(dataset: str, epochs: int, max_length: int, source: Path | None) -> dict[str, Any]:
    root = dataset_folder(DATASETS[dataset])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="train-memory-") as home:
        environment = os.environ | {
            "CC_HOME": home,
            "HF_HUB_OFFLINE": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        if source is not None:
            environment["PYTHONPATH"] = str(source.resolve())
        report = Path(home) / "time.txt"
        command = [
            "/usr/bin/time",
            "-v",
            "-o",
            str(report),
            *train_command(root, epochs, max_length),
        ]
        finished = subprocess.run(command, env=environment, capture_output=True, text=True)
        if finished.returncode not in (0, 3):  # 3: trained, but not accepted
            sys.stderr.write(finished.stderr[-4000:])
            raise SystemExit(f"train exited {finished.returncode}")
        measured = parse_time_report(report.read_text())
        outcome = json.loads(finished.stdout.strip().splitlines()[-1])
        outcome["params"] = run_params(Path(home) / "mlflow.db", outcome["run_id"])
    return summary(dataset, epochs, max_length, source, measured, outcome, load_before)


def run_params(store: Path, run_id: str) -> dict[str, str]:
    """The MLflow run's parameters (the split's sizes among them), from its SQLite store."""
    with closing(sqlite3.connect(store)) as connection:
        rows = connection.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,))
        return dict(rows.fetchall())


def summary(
    dataset: str,
    epochs: int,
    max_length: int,
    source: Path | None,
    measured: dict[str, float],
    outcome: dict[str, Any],
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    timings = outcome["timings"]
    train_documents = int(outcome["params"]["train_documents"])
    epochs_run = epochs  # early stopping cannot end a 1-epoch run sooner
    loop_seconds = timings["train_seconds"] - timings.get("export_seconds", 0.0)
    return {
        "benchmark": "train_memory_cpu",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "dataset": dataset,
        "source": str(source) if source else "this checkout",
        "epochs": epochs,
        "max_length": max_length,
        "train_documents": train_documents,
        "peak_rss_mb": round(measured["max_rss_kb"] / 1024, 1),
        "wall_seconds": round(measured["wall"], 1),
        "user_seconds": measured.get("user_seconds"),
        "system_seconds": measured.get("system_seconds"),
        "train_seconds": round(timings["train_seconds"], 1),
        "export_seconds": round(timings.get("export_seconds", 0.0), 1),
        # head strategy: one window per document
        "train_windows_per_second": round(train_documents * epochs_run / loop_seconds, 2),
        "macro_f1": outcome["metrics"].get("macro_f1"),
        "timings": timings,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), action="append")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--tag", default="", help="A note kept with the result (e.g. before).")
    parser.add_argument("--source", type=Path, help="Another checkout's `src` to run.")
    options = parser.parse_args()
    for dataset in options.dataset or ["bbc", "20news"]:
        result = run(dataset, options.epochs, options.max_length, options.source)
        result["tag"] = options.tag
        line = json.dumps(result)
        print(line, flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as results:
            results.write(line + "\n")


if __name__ == "__main__":
    main()
