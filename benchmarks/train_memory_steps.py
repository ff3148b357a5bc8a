"""Resident memory and time of the first training steps on this CPU, step by step.

Builds the real `TrainingLoop` on BBC's documents (1,701 drawn at random, window 512, the
default arguments) and runs its first `--steps` steps, printing after each the width, the
seconds, the resident MiB and the process's peak. `--mmap-threshold BYTES` fixes glibc's mmap
threshold before anything is imported (0: glibc's dynamic default), `--trim-each-step` trims the
heap after each step, `--step-tokens N` sets the padded tokens of a CPU step's micro-batches
(0: whole batches; unset: the code's default; code without micro-batches ignores it), to compare
them side by side in processes started together.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.train_memory_steps [--steps N]
        [--mmap-threshold BYTES] [--trim-each-step] [--step-tokens N] [--tag TEXT]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import time

_M_MMAP_THRESHOLD = -3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--mmap-threshold", type=int, default=0)
    parser.add_argument("--trim-each-step", action="store_true")
    parser.add_argument("--step-tokens", type=int, default=None)
    parser.add_argument("--tag", default="")
    options = parser.parse_args()
    if options.mmap_threshold:
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, options.mmap_threshold)
    run_steps(
        options.steps,
        options.tag,
        trim_each_step=options.trim_each_step,
        step_tokens=options.step_tokens,
    )


def run_steps(steps: int, tag: str, *, trim_each_step: bool, step_tokens: int | None) -> None:
    import numpy as np
    import psutil
    import torch

    from benchmarks.datasets import dataset_folder, label_folders
    from custom_classifier.config import bundled_base_model
    from custom_classifier.corpus.models import Document
    from custom_classifier.training import trainer
    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.loop import TrainingLoop
    from custom_classifier.training.memory import trim_heap
    from custom_classifier.training.windows import encode_documents, shuffled_length_batches

    root = dataset_folder("bbc")
    labels = label_folders(root)
    documents = [
        Document(id=str(path), label=label, text=path.read_text(errors="replace"))
        for label in labels
        for path in sorted((root / label).iterdir())
    ]
    chosen = np.random.default_rng(0).permutation(len(documents))[:1701]
    documents = [documents[i] for i in chosen]
    args = TrainingArguments(epochs=1)
    torch.manual_seed(0)
    tokenizer, model = trainer._load_backbone(
        bundled_base_model(), labels, args, torch.device("cpu")
    )
    train = encode_documents(tokenizer, documents, labels, args)
    validation = encode_documents(tokenizer, documents[:8], labels, args)
    loop = TrainingLoop(model, tokenizer, args, train, validation, labels)
    if step_tokens is not None and hasattr(loop, "step_tokens"):
        loop.step_tokens = step_tokens or None
    model.train()
    batches = shuffled_length_batches(loop.bank.lengths, loop.batch_size, np.random.default_rng(1))
    process = psutil.Process()

    def resident() -> str:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return f"rss {process.memory_info().rss / 2**20:.0f} peak {peak:.0f}"

    micro = getattr(loop, "step_tokens", "absent")
    print(
        f"[{tag}] start {resident()} step tokens {micro} load {os.getloadavg()[0]:.1f}", flush=True
    )
    started = time.monotonic()
    for step, batch in enumerate(batches[:steps], start=1):
        step_started = time.monotonic()
        loss = loop._train_step(batch, torch.from_numpy(batch))
        if trim_each_step:
            trim_heap()
        seconds = time.monotonic() - step_started
        width = loop.bank.shape(batch)[0]
        print(
            f"[{tag}] step {step} width {width} {seconds:.1f}s {resident()} loss {float(loss):.3f}"
        )
    windows = sum(len(batch) for batch in batches[:steps])
    cpu = process.cpu_times()
    print(
        f"[{tag}] done {steps} steps, {windows / (time.monotonic() - started):.2f} windows/s, "
        f"{resident()}, user {cpu.user:.0f} s system {cpu.system:.0f} s, "
        f"load {os.getloadavg()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
