"""Train on BBC on one GPU: our trainer against a stock Hugging Face Trainer, in the same run.

    python3 -m benchmarks.train_gpu [--baselines autotrain,tuned] [--ours 64:1e-4,64:1e-4:padded]

BBC, stratified 80/20 (1,780 documents to train, 445 to test), 3 epochs, window 512. Baselines:
`transformers.Trainer` with AutoTrain's defaults (batch 8, fp32, lr 5e-5) and tuned by hand (bf16,
batch 32). Ours: `fine_tune` (no validation split, so every run does the same 3 epochs), one run
per `BATCH:LR[:FLAG...]` (each flag sets one speed lever, `LEVER_FLAGS`; the others keep their
defaults). Tokens per second count non-padding tokens over the training loop's time; "steady"
ones leave out the first 10 steps (warm-up: kernel selection, allocations), counting from a GPU
synchronization before step 11. `--dataset news20`: 20 Newsgroups' bydate test part
(the one the device carries), split the same way, instead of BBC. Then the training job
(`--job`, `--jobs` times (2) before anything else: the first in a fresh worker process, cold
start counted, or after the warm-up a GPU worker's process makes as it starts with `--warm-up`;
then the others in the same process) through `run_training` on a local MLflow store under
/tmp/cc-job-home, as a worker runs it: read, split, fine-tune with validation while the TF-IDF
baseline fits in its subprocess, evaluate, judge, log, register (and the int8 file, where the
job makes it after registration). Prints one JSON line per run and a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.datasets import label_folders
from benchmarks.gpu_common import base_model, bbc_folder, bbc_split, news20_split, ratio
from custom_classifier.corpus.models import Split

EPOCHS = 3
MAX_LENGTH = 512
WARM_UP_STEPS = 10
SAVED_MODEL = Path("/tmp/cc-bbc-model")


@dataclass
class Outcome:
    name: str
    train_seconds: float
    tokens: int
    macro_f1: float
    steady_tokens_per_second: float | None = None
    packed: bool | None = None
    graphs: str | None = None
    compiled: bool | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train_seconds

    def to_dict(self) -> dict[str, Any]:
        steady = self.steady_tokens_per_second
        return {
            "name": self.name,
            "train_seconds": round(self.train_seconds, 2),
            "tokens_per_second": round(self.tokens_per_second),
            "steady_tokens_per_second": None if steady is None else round(steady),
            "packed": self.packed,
            "graphs": self.graphs,
            "compiled": self.compiled,
            "macro_f1": round(self.macro_f1, 4),
        }


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, average="macro"))


def train_tokens(model_path: str, split: Split) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    ids = tokenizer([d.text for d in split.train], truncation=True, max_length=MAX_LENGTH)
    return sum(len(i) for i in ids["input_ids"]) * EPOCHS


def hf_trainer(
    name: str, model_path: str, split: Split, labels: list[str], *, batch: int, bf16: bool
) -> Outcome:
    """A stock `transformers.Trainer`: dynamic padding, linear schedule, 10% warm-up."""
    import numpy as np
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
    )
    from transformers import TrainingArguments as HFArguments

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=len(labels))
    label_ids = {label: i for i, label in enumerate(labels)}

    def dataset(documents: list[Any]) -> list[dict[str, Any]]:
        encoded = tokenizer([d.text for d in documents], truncation=True, max_length=MAX_LENGTH)
        return [
            {"input_ids": ids, "attention_mask": mask, "labels": label_ids[d.label]}
            for ids, mask, d in zip(
                encoded["input_ids"], encoded["attention_mask"], documents, strict=True
            )
        ]

    with tempfile.TemporaryDirectory() as output:
        arguments = HFArguments(
            output_dir=output,
            per_device_train_batch_size=batch,
            per_device_eval_batch_size=64,
            learning_rate=5e-5,
            num_train_epochs=EPOCHS,
            warmup_steps=round(0.1 * EPOCHS * -(-len(split.train) // batch)),
            bf16=bf16,
            save_strategy="no",
            eval_strategy="no",
            report_to=[],
            seed=42,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=arguments,
            train_dataset=dataset(split.train),  # type: ignore[arg-type]
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        seconds = trainer.train().metrics["train_runtime"]
        logits = trainer.predict(dataset(split.test)).predictions  # type: ignore[arg-type]
    predicted = [labels[i] for i in np.asarray(logits).argmax(axis=1)]
    score = macro_f1([d.label for d in split.test], predicted)
    return Outcome(name, seconds, train_tokens(model_path, split), score)


def ours(
    name: str,
    model_path: str,
    split: Split,
    labels: list[str],
    *,
    batch: int,
    lr: float,
    keep_model: bool = True,
    levers: Any = None,
    warmup_ratio: float = 0.1,
    watched: bool = False,
) -> Outcome:
    import torch

    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.training import step_graphs, trainer
    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.distributed import process_group
    from custom_classifier.training.loop import TrainingLoop

    loop_seconds: list[float] = []
    steady: dict[str, Any] = {"tokens": 0}
    run, train_step = TrainingLoop.run, TrainingLoop._train_step

    def timed_run(self: Any, on_epoch_end: Any) -> Any:
        torch.cuda.synchronize()
        started = time.perf_counter()
        result = run(self, on_epoch_end)
        torch.cuda.synchronize()
        loop_seconds.append(time.perf_counter() - started)
        steady["seconds"] = time.perf_counter() - steady.get("started", started)
        steady["packed"] = self.packed
        steady["compiled"] = None if self.compiled is None else self.compiled.active
        graphs = self.graphs
        if graphs is not None:
            steady["graphs"] = f"{len(graphs.graphs)} captured, {len(graphs.eager_only)} eager"
        return result

    def counted_step(self: Any, batch: Any, rows: Any) -> Any:
        if self.step == WARM_UP_STEPS:
            torch.cuda.synchronize()
            steady["started"] = time.perf_counter()
        if self.step >= WARM_UP_STEPS:
            steady["tokens"] += int(self.bank.lengths[batch].sum())
        return train_step(self, batch, rows)

    args = TrainingArguments(
        epochs=EPOCHS,
        max_length=MAX_LENGTH,
        gpu_batch_size=batch,
        gpu_learning_rate=lr,
        export_onnx=False,
        warmup_ratio=warmup_ratio,
    )
    # As a job's callbacks do: every epoch's metrics read as it ends (the loop then waits for
    # the GPU at each epoch's end; without a reader it reads the losses at the end).
    on_epoch_end = (lambda epoch, metrics: None) if watched else None
    TrainingLoop.run = timed_run  # type: ignore[method-assign]
    TrainingLoop._train_step = counted_step  # type: ignore[method-assign]
    step_graphs.LEVERS = levers or step_graphs.SpeedLevers()
    try:
        with tempfile.TemporaryDirectory() as output:
            result = trainer.fine_tune(
                model_path, split, labels, args, Path(output), on_epoch_end=on_epoch_end
            )
            if process_group()[0] != 0:  # data-parallel: the first process scores
                return Outcome(name, loop_seconds[0], 0, float("nan"))
            classifier = TextClassifier.load(result.model_dir)
            predicted = [p["label"] for p in classifier.predict([d.text for d in split.test])]
            import shutil

            if keep_model and SAVED_MODEL.exists():
                shutil.rmtree(SAVED_MODEL)
            if keep_model:
                shutil.copytree(result.model_dir, SAVED_MODEL)
    finally:
        TrainingLoop.run = run  # type: ignore[method-assign]
        TrainingLoop._train_step = train_step  # type: ignore[method-assign]
        step_graphs.LEVERS = step_graphs.SpeedLevers()
    score = macro_f1([d.label for d in split.test], predicted)
    steady_rate = steady["tokens"] / steady["seconds"] if "started" in steady else None
    tokens = train_tokens(model_path, split)
    return Outcome(
        name,
        loop_seconds[0],
        tokens,
        score,
        steady_rate,
        steady["packed"],
        steady.get("graphs"),
        steady["compiled"],
    )


LEVER_FLAGS = {
    "padded": ("packed_windows", False),
    "eager": ("cuda_graphs", False),
    "compiled": ("compiled_packed_layers", True),
    "uncompiled": ("compiled_packed_layers", False),
    "frozen": ("frozen_word_embeddings", True),
    "unfrozen": ("frozen_word_embeddings", False),
    "budget": ("token_budget_batches", True),
    "counted": ("token_budget_batches", False),
}
"""What each flag of a `--ours` run sets in `SpeedLevers` (the others keep their defaults)."""


def run_ours(spec: str, model_path: str, split: Split, labels: list[str]) -> Outcome:
    """One `BATCH:LR[:FLAG...]` run of ours, each flag one lever set (`LEVER_FLAGS`): `padded`
    turns `packed_windows` off, `eager` `cuda_graphs`, `unfrozen` `frozen_word_embeddings`,
    `counted` `token_budget_batches` (batches of a window count); `compiled` turns
    `compiled_packed_layers` on, `budget` `token_budget_batches`. Two flags are no levers:
    `watched` reads each epoch's metrics as a job's callback does, `warmup=R` sets the
    warm-up ratio (0.1 otherwise)."""
    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.step_graphs import SpeedLevers

    batch, lr, *flags = spec.split(":")
    unknown = [f for f in flags if f not in LEVER_FLAGS and f != "watched" and "warmup=" not in f]
    if unknown:
        raise SystemExit(f"unknown flags {unknown} in {spec!r}: use {sorted(LEVER_FLAGS)}")
    warmup = [float(f.removeprefix("warmup=")) for f in flags if f.startswith("warmup=")]
    levers = SpeedLevers(**dict(LEVER_FLAGS[f] for f in flags if f in LEVER_FLAGS))
    name = f"ours b{batch} lr {lr} " + (" ".join(flags) or "defaults")
    return ours(
        name,
        model_path,
        split,
        labels,
        batch=int(batch),
        lr=float(lr),
        levers=levers,
        warmup_ratio=warmup[0] if warmup else TrainingArguments().warmup_ratio,
        watched="watched" in flags,
    )


JOB_HOME = Path("/tmp/cc-job-home")
"""The local MLflow store of `--job` (SQLite and an artifact folder, `Settings.home`)."""


def create_store(model_path: str, home: Path = JOB_HOME) -> float:
    """Seconds to create the local MLflow store (its SQLite schema), in a subprocess: in a real
    install the API has made it before any worker takes a job."""
    code = (
        "from custom_classifier.config import Settings;"
        "from custom_classifier.registry.connect import open_registry;"
        f"settings = Settings(home={str(home)!r}, base_model={model_path!r});"
        "open_registry(settings).client.search_experiments()"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


class _Stopwatch:
    """Seconds spent in some functions of the job, by wrapping them for one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.ended: dict[str, float] = {}

    @contextmanager
    def wrapping(self, owner: Any, attribute: str, name: str) -> Iterator[None]:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.ended[name] = time.perf_counter()
                self.seconds[name] = self.seconds.get(name, 0.0) + self.ended[name] - began

        setattr(owner, attribute, timed)
        try:
            yield
        finally:
            setattr(owner, attribute, original)


def job(model_path: str, name: str, home: Path = JOB_HOME) -> dict[str, Any]:
    """The training job as a worker runs it (`jobs.training_run.run_training`) on a local MLflow
    store: read the folder, split, fine-tune with validation while the TF-IDF baseline fits in
    its subprocess, evaluate, judge, log to MLflow, register; then, where the job does so after
    registration, the int8 ONNX file. Phases from the job's progress reports and timings."""
    from custom_classifier.config import Settings
    from custom_classifier.jobs import gate, training_run
    from custom_classifier.jobs.contract import TrainingRequest
    from custom_classifier.registry.tracking import Registry
    from custom_classifier.training.arguments import Phase, Progress, TrainingArguments
    from custom_classifier.training.baseline_process import BaselineProcess

    root = bbc_folder()
    request = TrainingRequest(
        name=name,
        location=str(root),
        labels=label_folders(root),
        base_model=model_path,
        training=TrainingArguments(epochs=EPOCHS, max_length=MAX_LENGTH),
    )
    entered: dict[str, float] = {}
    steps: list[float] = []

    def report(progress: Progress) -> None:
        entered.setdefault(str(progress.phase), time.perf_counter())
        if progress.phase == Phase.TRAINING:
            steps.append(time.perf_counter())

    watch = _Stopwatch()
    started = time.perf_counter()
    with (
        watch.wrapping(training_run, "_log_inputs", "log_inputs"),
        watch.wrapping(training_run, "_test", "evaluate"),
        watch.wrapping(BaselineProcess, "result", "baseline_wait"),
        watch.wrapping(gate, "judge", "gate"),
        watch.wrapping(training_run, "_record", "record"),
        watch.wrapping(training_run, "_log_models", "log_model"),
        watch.wrapping(Registry, "register", "register"),
    ):
        settings = Settings(home=home, base_model=model_path)
        outcome = training_run.run_training(request, settings, on_progress=report)
    ended = time.perf_counter()
    timings = outcome.timings
    registered_at = watch.ended.get("register", ended)
    return {
        "accepted": outcome.accepted,
        "registered": outcome.registered_model,
        "read_seconds": timings["read_seconds"],
        "until_first_progress_seconds": steps[0] - entered["preparing"],
        "steps_seconds": steps[-1] - steps[0],
        "after_last_step_seconds": entered["evaluating"] - steps[-1],
        "evaluate_and_judge_seconds": entered["logging"] - entered["evaluating"],
        "log_model_seconds": watch.seconds.get("log_model", 0.0),
        "register_seconds": watch.seconds.get("register", 0.0),
        "until_registered_seconds": registered_at - started,
        "int8_seconds": timings.get("int8_seconds"),
        "inside_seconds": watch.seconds,
        "total_seconds": ended - started,
        "job_timings": timings,
        "test_macro_f1": outcome.metrics.get("macro_f1"),
        "tfidf_macro_f1": outcome.baseline.get("macro_f1"),
    }


def warm_up_worker(model_path: str, home: Path = JOB_HOME) -> float:
    """Seconds of a GPU worker process's warm-up before its first job (`jobs.warm_worker`)."""
    from custom_classifier.config import Settings
    from custom_classifier.jobs.warm_worker import warm_up_worker

    started = time.perf_counter()
    warm_up_worker(Settings(home=home, base_model=model_path))
    return time.perf_counter() - started


def process_age() -> float:
    """Seconds since this process started (the interpreter and the imports so far)."""
    import psutil

    return time.time() - psutil.Process().create_time()


def warm_up_cuda() -> None:
    """CUDA context and cuBLAS handles, so that no run pays them for the others."""
    import torch

    x = torch.randn(256, 256, device="cuda", requires_grad=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        (x @ x).sum().backward()
    torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baselines", default="autotrain,tuned")
    parser.add_argument("--ours", default="64:1e-4")
    parser.add_argument("--job", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="with --job: jobs in the process")
    parser.add_argument(
        "--warm-up", action="store_true", help="with --job: warm up first, as a GPU worker does"
    )
    parser.add_argument("--dataset", choices=["bbc", "news20"], default="bbc")
    options = parser.parse_args()
    import torch

    model_path = base_model()
    if options.job:  # first in a fresh worker process (cold start counted), then warm ones
        print(json.dumps({"store_created_seconds": create_store(model_path)}), flush=True)
        print(json.dumps({"process_start_to_first_job": process_age()}), flush=True)
        if options.warm_up:
            print(json.dumps({"worker_warm_up_seconds": warm_up_worker(model_path)}), flush=True)
        for number in range(1, options.jobs + 1):
            outcome = {f"job {number} in the process": job(model_path, f"bbc-{number}")}
            print(json.dumps(outcome), flush=True)
    split, labels = bbc_split() if options.dataset == "bbc" else news20_split()
    print(f"device {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    warm_up_cuda()
    outcomes: list[Outcome] = []
    specs = [s for s in options.ours.split(",") if s]
    first, rest = specs[:1], specs[1:]
    for spec in first:
        outcomes.append(run_ours(spec, model_path, split, labels))
        print(json.dumps(outcomes[-1].to_dict()), flush=True)
    baselines = {"autotrain": (8, False), "tuned": (32, True)}
    for name in [b for b in options.baselines.split(",") if b]:
        batch, bf16 = baselines[name]
        outcomes.append(hf_trainer(f"HF {name}", model_path, split, labels, batch=batch, bf16=bf16))
        print(json.dumps(outcomes[-1].to_dict()), flush=True)
    for spec in rest:
        outcomes.append(run_ours(spec, model_path, split, labels))
        print(json.dumps(outcomes[-1].to_dict()), flush=True)
    print(
        f"{options.dataset}: train {len(split.train)} docs, test {len(split.test)}, "
        f"{EPOCHS} epochs, window {MAX_LENGTH}"
    )
    reference = {o.name: o for o in outcomes if o.name.startswith("HF")}
    for outcome in outcomes:
        steady = outcome.steady_tokens_per_second
        line = (
            f"{outcome.name:32} {outcome.train_seconds:6.2f} s "
            f"{outcome.tokens_per_second:>10,.0f} tok/s "
            f"steady {'-' if steady is None else f'{steady:,.0f}':>10}  F1 {outcome.macro_f1:.4f}"
        )
        for ref in reference.values():
            line += f"  vs {ref.name}: {ratio(outcome.tokens_per_second, ref.tokens_per_second)}"
        print(line)


if __name__ == "__main__":
    main()
