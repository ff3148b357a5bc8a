"""Data-parallel training as the worker does it: `fine_tune_data_parallel(N, ...)` from one process.

    python3 -m benchmarks.train_gpu_ddp [--gpus 1,2]

The same BBC work (stratified 80/20, 3 epochs, window 512, the product's GPU batch of 64
windows per GPU per step) on 1 GPU in-process, then on N GPUs through the launcher a worker
uses when it sees several GPUs (one subprocess per GPU, NCCL, progress relayed). Prints one JSON
line per run: the call's wall time (what the job waits for: process start, model load,
tokenizing, training, saving), the steady training time between the first and the last
relayed progress sample, non-padding tokens per second over that span, and the test macro-F1.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks.gpu_common import base_model, bbc_split
from benchmarks.train_gpu import EPOCHS, MAX_LENGTH, macro_f1, train_tokens


def train(processes: int, model_path: str) -> dict[str, object]:
    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training.arguments import Progress, TrainingArguments
    from custom_classifier.training.data_parallel import fine_tune_data_parallel
    from custom_classifier.training.trainer import fine_tune

    split, labels = bbc_split()
    args = TrainingArguments(epochs=EPOCHS, max_length=MAX_LENGTH, export_onnx=False)
    samples: list[tuple[float, Progress]] = []
    with tempfile.TemporaryDirectory() as output:
        started = time.perf_counter()
        launch = partial(fine_tune_data_parallel, processes) if processes > 1 else fine_tune
        result = launch(
            model_path,
            split,
            labels,
            args,
            Path(output),
            on_progress=lambda p: samples.append((time.perf_counter(), p)),
        )
        wall = time.perf_counter() - started
        classifier = TextClassifier.load(result.model_dir)
        predicted = [p["label"] for p in classifier.predict([d.text for d in split.test])]
    (first_time, first), (last_time, last) = samples[0], samples[-1]
    steady = last_time - first_time
    tokens = train_tokens(model_path, split) * (last.step - first.step) / last.total_steps
    return {
        "gpus": processes,
        "wall_seconds": round(wall, 2),
        "steady_seconds": round(steady, 2),
        "steady_tokens_per_second": round(tokens / steady) if steady else None,
        "steps": last.total_steps,
        "macro_f1": round(macro_f1([d.label for d in split.test], predicted), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpus", default="1,2")
    options = parser.parse_args()
    import torch

    print(f"device {torch.cuda.device_count()} x {torch.cuda.get_device_name()}", flush=True)
    model_path = base_model()
    outcomes = [train(int(n), model_path) for n in options.gpus.split(",")]
    for outcome in outcomes:
        print(json.dumps(outcome), flush=True)
    one = outcomes[0]
    for outcome in outcomes[1:]:
        print(
            f"{outcome['gpus']} GPUs vs {one['gpus']}: wall {one['wall_seconds']} s -> "
            f"{outcome['wall_seconds']} s ({one['wall_seconds'] / outcome['wall_seconds']:.2f}x), "
            f"steady {one['steady_seconds']} s -> {outcome['steady_seconds']} s "
            f"({one['steady_seconds'] / outcome['steady_seconds']:.2f}x)"
        )


if __name__ == "__main__":
    main()
