"""The TF-IDF baseline's child process with its BLAS on every core against one thread.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.baseline_blas_threads bbc sms_spam 20news-train

Each data set split as the job splits it (8 % validation, 20 % test, seed 42), the baseline fitted
on training + validation documents in a child process (imports included in its seconds), once
with the environment as it is and once with `OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1`;
prints the seconds of each and how many test predictions agree, one JSON line per data set.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.datasets import dataset_folder, label_folders

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CHILD = """
import pickle, sys, time
started = time.perf_counter()
from custom_classifier.training import baseline
train, test = pickle.load(open(sys.argv[1], "rb"))
predicted = baseline.baseline_predictions(train, test)
pickle.dump((predicted, time.perf_counter() - started), open(sys.argv[2], "wb"))
"""


def compare(name: str, folder: Path) -> dict[str, object]:
    from custom_classifier.corpus.reader import inspect_corpus
    from custom_classifier.corpus.split import split_corpus

    root = dataset_folder(name)
    documents = inspect_corpus(root, label_folders(root), min_docs_per_label=1).documents
    split = split_corpus(documents, validation_fraction=0.08, test_fraction=0.2, seed=42)
    inputs, output = folder / "inputs.pkl", folder / "output.pkl"
    inputs.write_bytes(pickle.dumps((split.train + split.validation, split.test)))
    line: dict[str, object] = {"dataset": name, "test_documents": len(split.test)}
    predicted = {}
    for threads, extra in (("default", {}), ("one", ONE_THREAD)):
        command = [sys.executable, "-c", CHILD, str(inputs), str(output)]
        subprocess.run(command, check=True, env={**os.environ, **extra})
        predicted[threads], line[f"{threads}_thread_seconds"] = pickle.loads(output.read_bytes())
    line["agree"] = sum(a == b for a, b in zip(predicted["default"], predicted["one"], strict=True))
    return line


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name in sys.argv[1:]:
            print(json.dumps(compare(name, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
