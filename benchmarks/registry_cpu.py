"""MLflow's share of a training job, and a registered model's cold start, on this CPU.

    .venv/bin/python -m benchmarks.registry_cpu

Logs the BBC classifier that `benchmarks.predict_cpu` builds (benchmarks/.data/bbc-cpu-model,
with its int8 ONNX file) into a fresh SQLite MLflow store, registers it, then times from a fresh
interpreter to the first prediction of `models:/<name>@champion` through `Registry`, with the
ONNX file (default backend) and without it (PyTorch). The device machine has no MLflow, so this
part of the GPU job's wall time is measured here: it is CPU and disk work.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from benchmarks.predict_cpu import trained_model  # noqa: E402

COLD_START = """
import time; t = time.perf_counter()
from custom_classifier.registry import Registry
registry = Registry({uri!r}, artifact_root={root!r})
classifier = registry.load_text_classifier({model!r})
classifier.predict(["a first document about the economy"])
print(classifier.backend, time.perf_counter() - t)
"""


def log_and_register(registry: object, model_dir: Path, name: str) -> float:
    started = time.perf_counter()
    with registry.start_run("bench", name, {}) as run:  # type: ignore[attr-defined]
        run.log_classifier_model(model_dir)
        registry.register(run.run_id, "bench", name)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def main() -> None:
    from custom_classifier.registry import Registry
    from custom_classifier.registry.tracking import registered_model_name

    model_dir = trained_model()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        uri, root = f"sqlite:///{tmp}/mlflow.db", f"{tmp}/artifacts"
        registry = Registry(uri, artifact_root=root)
        without_onnx = Path(tmp) / "no-onnx"
        shutil.copytree(model_dir, without_onnx)
        (without_onnx / "model.int8.onnx").unlink()
        log_and_register(registry, without_onnx, "warm-up")  # store migrations, imports
        for name, folder in (("onnx", model_dir), ("torch", without_onnx)):
            results[f"log_and_register_seconds_{name}"] = round(
                log_and_register(registry, folder, name), 2
            )
            model = f"models:/{registered_model_name('bench', name)}@champion"
            code = COLD_START.format(uri=uri, root=root, model=model)
            runs = []
            for _ in range(3):
                out = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, check=True
                )
                backend, seconds = out.stdout.strip().splitlines()[-1].split()
                runs.append(float(seconds))
            results[f"cold_start_seconds_{name}"] = round(statistics.median(runs), 2)
            results[f"backend_{name}"] = backend
    results["machine"] = f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    print(json.dumps(results))
    print(
        f"cold start to first prediction of a registered model: ONNX "
        f"{results['cold_start_seconds_onnx']} s, PyTorch {results['cold_start_seconds_torch']} s"
    )


if __name__ == "__main__":
    main()
