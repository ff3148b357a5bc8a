"""LoRA training throughput on one GPU: our trainer against a stock `transformers.Trainer` + PEFT,
on the same decoder, data and batch, in one run.

    python3 -m benchmarks.llm_gpu_lora [--steps 200] [--batch 16] [--max-length 512]
    python3 -m benchmarks.llm_gpu_lora --steps 1100 --stock-steps 200 --short-steps 200 \
        --run "ours, layers eager (rule off)"

The second form measures the product's defaults on a job long enough that the rule of
`training/compile_payoff.py` compiles the decoder's layers (about 1,040 steps at this shape),
against the same job with them forced off, with stock's rate over 200 steps as the reference
(stock runs about 0.29 s a step), and a 200-step job of ours that the rule leaves eager. Each
line of ours says whether its layers compiled (`compiled_layers_chosen`) and the seconds the
rule expected compiling to save.

The model has the architecture of Qwen3-0.6B (config written out below; 596M parameters) with
random weights: speed does not depend on the weights, and the device reaches no hub. The data
are synthetic documents of random words over a word-level tokenizer (lengths spread from a
quarter of the window to twice it, as real documents are), four labels whose words differ, so the
loss can fall. Both sides train the same LoRA (rank 16, alpha 32, dropout 0.05, every linear
layer, the score head fully) with the same learning rate, batch, window and number of steps.

- Ours: `fine_tune` as the product runs it (`fine_tuning=auto` -> LoRA; frozen weights in bf16,
  length-bucketed batches, fused AdamW, the speed levers of `training/step_graphs.py`: each
  batch shape's step replayed as a CUDA graph, no attention mask for the decoder, fused RMSNorm,
  no float32 cast of adapter inputs); no validation split, so it trains every step. With `--levers`, ours also trains with each lever off and with
  all of them off.
- Stock: `Trainer` with `bf16=True` and PEFT's `get_peft_model`, dynamic padding, the defaults
  otherwise (fp32 frozen weights under autocast, random batches).

Tokens per second count non-padding tokens over the training loop's time (model loading,
merging and saving excluded on both sides). Loss: the mean of the training losses logged (every
10 steps on both sides) over the last 10% of the steps. The first 10% of the steps (where ours
compiles its layers and captures its graphs) are also timed apart, beside the rate of the steps
after them. Prints one JSON line per side and the ratios.

The Liger runs (`SpeedLevers.liger_kernels`, `training/liger_kernels.py`) need the
`liger-kernel` package (pure Python and Triton; on the device, carry `pip download --no-deps
liger-kernel==0.8.5` and install it with the other wheels); without it they train as "ours".
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

QWEN3_0_6B = {
    "vocab_size": 151936,
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1_000_000.0,
    "tie_word_embeddings": True,
}
LABELS = ["alpha", "beta", "gamma", "delta"]
WORDS_PER_LABEL = 400
LORA = {"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.05}
LEARNING_RATE = 2e-4


def make_model(folder: Path) -> list[str]:
    """Save a random Qwen3-0.6B-shaped model and a word-level tokenizer; returns the words."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    words = [f"w{i}" for i in range(WORDS_PER_LABEL * (len(LABELS) + 1))]
    vocab = {token: i for i, token in enumerate(["<unk>", "<|endoftext|>", *words])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|endoftext|>", unk_token="<unk>"
    )
    config = Qwen3Config(**QWEN3_0_6B, eos_token_id=1, bos_token_id=1, pad_token_id=None)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return words


def make_documents(words: list[str], count: int, max_length: int, seed: int) -> list[Any]:
    """`count` documents per label: mostly the label's own words, some shared ones."""
    from custom_classifier.corpus.models import Document

    rng = random.Random(seed)
    shared = words[len(LABELS) * WORDS_PER_LABEL :]
    documents = []
    for index, label in enumerate(LABELS):
        own = words[index * WORDS_PER_LABEL : (index + 1) * WORDS_PER_LABEL]
        for number in range(count):
            length = rng.randint(max_length // 4, 2 * max_length)
            text = " ".join(
                rng.choice(own if rng.random() < 0.3 else shared) for _ in range(length)
            )
            documents.append(Document(id=f"{label}/{number}", label=label, text=text))
    rng.shuffle(documents)
    return documents


def train_tokens(folder: Path, documents: list[Any], max_length: int) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer([d.text for d in documents], truncation=True, max_length=max_length)
    return [len(ids) for ids in encoded["input_ids"]]


LEVER_RUNS = {
    "ours": {},
    "ours, no CUDA graphs": {"cuda_graphs": False},
    "ours, each shape warmed up before capture": {"warm_up_each_shape": True},
    "ours, attention mask kept": {"causal_without_mask": False},
    "ours, HF RMSNorm": {"fused_rms_norm": False},
    "ours, PEFT input casts": {"lora_input_casts": True},
    "ours, layers compiled": {"compiled_layers": True},
    "ours, layers eager (rule off)": {"compiled_layers": False},
    "ours, layers compiled again (inductor's caches warm)": {"compiled_layers": True},
    "ours, no CUDA graphs (layers compiled)": {"cuda_graphs": False, "compiled_layers": True},
    "ours, LoRA dropout 0": {},
    "ours, adapters' additions in PEFT": {"fused_adapter_additions": False},
    "ours, Liger kernels": {"liger_kernels": True},
    "ours, Liger kernels, additions in PEFT": {
        "liger_kernels": True,
        "fused_adapter_additions": False,
    },
    "ours, Liger kernels, layers compiled": {"liger_kernels": True, "compiled_layers": True},
    "ours, every lever off": {
        "cuda_graphs": False,
        "causal_without_mask": False,
        "fused_rms_norm": False,
        "lora_input_casts": True,
        "compiled_layers": False,
        "fused_adapter_additions": False,
    },
}
ARGUMENT_RUNS = {"ours, LoRA dropout 0": {"lora_dropout": 0.0}}
"""Runs that change our training arguments rather than a lever (stock keeps `LORA`)."""
QUICK_RUNS = ["ours", "ours, each shape warmed up before capture", "ours, no CUDA graphs"]
COMPILE_RUNS = [
    "ours",
    "ours, adapters' additions in PEFT",
    "ours, layers compiled",
    "ours, LoRA dropout 0",
    "ours, Liger kernels",
    "ours, Liger kernels, additions in PEFT",
    "ours, Liger kernels, layers compiled",
]


def ours(
    folder: Path,
    documents: list[Any],
    steps: int,
    batch: int,
    max_length: int,
    name: str = "ours",
) -> dict:
    import torch
    from torch._dynamo.utils import compilation_time_metrics, counters

    from custom_classifier.corpus.models import Split
    from custom_classifier.training import liger_kernels, step_graphs
    from custom_classifier.training.arguments import TrainingArguments
    from custom_classifier.training.compiled_layers import CompiledLayers
    from custom_classifier.training.loop import TrainingLoop
    from custom_classifier.training.trainer import fine_tune

    per_epoch = -(-len(documents) // batch)
    epochs = -(-steps // per_epoch)
    documents = documents[: steps * batch] if epochs == 1 else documents
    args = TrainingArguments(
        epochs=epochs,
        gpu_batch_size=batch,
        max_length=max_length,
        lora_learning_rate=LEARNING_RATE,
        warmup_ratio=0.1,
        early_stopping_patience=epochs,
        validation_fraction=0.0,
        export_onnx=False,
        **{**LORA, **ARGUMENT_RUNS.get(name, {})},  # type: ignore[arg-type]
    )
    losses: list[tuple[int, float]] = []
    clock: list[tuple[int, float]] = []
    seconds: list[float] = []
    compiled: list[Any] = []
    estimates: list[float] = []
    run = TrainingLoop.run

    def timed_run(self: Any, on_epoch_end: Any) -> Any:
        torch.cuda.synchronize()
        started = time.perf_counter()
        result = run(self, on_epoch_end)
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
        compiled.append(self.compiled)
        estimates.append(
            self.lora_job(graphed=self.graphs is not None, liger=False).saved_seconds()
        )
        return result

    profiler = StepProfiler(name)

    def progress(report: Any) -> None:
        if report.phase != "training" or report.validation is not None:
            return
        clock.append((report.step, time.perf_counter()))
        if report.loss is not None:
            losses.append((report.step, report.loss))
        profiler.at_step(report.step)

    TrainingLoop.run = timed_run  # type: ignore[method-assign]
    step_graphs.LEVERS = step_graphs.SpeedLevers(**LEVER_RUNS[name])
    # Each run compiles afresh (a run after a compiled one finds inductor's on-disk caches).
    torch._dynamo.reset()
    counters.clear()
    compilation_time_metrics.clear()
    try:
        with tempfile.TemporaryDirectory() as output:
            split = Split(train=documents, validation=[], test=[])
            fine_tune(str(folder), split, LABELS, args, Path(output), on_progress=progress)
    finally:
        TrainingLoop.run = run  # type: ignore[method-assign]
        step_graphs.LEVERS = step_graphs.SpeedLevers()
    tokens = sum(train_tokens(folder, documents, max_length)) * epochs
    steps_done = max(step for step, _ in losses)
    result = summary(name, tokens, seconds[0], steps_done, losses, clock)
    if LEVER_RUNS[name].get("liger_kernels"):
        result["liger_kernel_installed"] = liger_kernels.installed()
    # Whether the layers compiled (the lever, or its rule when the lever is None), and the
    # seconds of steps the rule expected compiling to save (without Liger's kernels).
    result["compiled_layers_chosen"] = isinstance(compiled[0], CompiledLayers)
    result["rule_saved_seconds_estimate"] = round(estimates[0], 2)
    if result["compiled_layers_chosen"]:
        result.update(compile_figures(compiled[0], counters))
    return result


def compile_figures(compiled: Any, counters: Any) -> dict[str, Any]:
    """How the layers compiled: how many stayed compiled to the end (0 after a failed compile),
    how many graphs Dynamo made (1 when every layer and batch shape shares one), its graph
    breaks and the seconds of its compile phases that took a second or more."""
    from torch._dynamo.utils import compilation_time_metrics

    return {
        "compiled_layers_at_end": len(compiled.layers) if compiled is not None else 0,
        "dynamo_unique_graphs": counters["stats"]["unique_graphs"],
        "dynamo_graph_breaks": sum(counters["graph_break"].values()),
        "compile_seconds": {
            phase: round(sum(times), 2)
            for phase, times in compilation_time_metrics.items()
            if sum(times) >= 1.0
        },
    }


PROFILE_STEPS: tuple[int, int] | None = None
"""With `--profile-steps FIRST:LAST`, the GPU kernels of ours' steps after FIRST up to LAST
(loss reads, every 10 steps) are profiled and the costliest printed: replayed CUDA graphs
included, so they show whether a captured step runs inductor's kernels (`triton_*`)."""


class StepProfiler:
    """Profiles the GPU kernels between two steps of one run and prints the costliest."""

    def __init__(self, name: str) -> None:
        self.name, self.profile = name, None

    def at_step(self, step: int) -> None:
        import torch

        if PROFILE_STEPS is None:
            return
        first, last = PROFILE_STEPS
        if step == first:
            self.profile = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA])
            self.profile.__enter__()
        elif step == last and self.profile is not None:
            torch.cuda.synchronize()
            self.profile.__exit__(None, None, None)
            print(json.dumps(self.summary(last - first)), flush=True)

    def summary(self, steps: int) -> dict[str, Any]:
        kernels = [
            (event.key, event.count, event.self_device_time_total)
            for event in self.profile.key_averages()  # type: ignore[union-attr]
            if event.self_device_time_total > 0
        ]
        kernels.sort(key=lambda kernel: -kernel[2])
        total = sum(us for _, _, us in kernels)
        triton = sum(us for key, _, us in kernels if key.startswith("triton"))
        return {
            "profile": self.name,
            "steps": steps,
            "gpu_ms_per_step": round(total / steps / 1000, 2),
            "triton_ms_per_step": round(triton / steps / 1000, 2),
            "top": [
                [key[:90], count // steps, round(us / steps / 1000, 3)]
                for key, count, us in kernels[:30]
            ],
        }


def stock(folder: Path, documents: list[Any], steps: int, batch: int, max_length: int) -> dict:
    """`transformers.Trainer` + PEFT, as its documentation shows it, with bf16 on."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
    )
    from transformers import TrainingArguments as HFArguments

    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=len(LABELS))
    model.config.pad_token_id = tokenizer.pad_token_id
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=LORA["lora_rank"],
        lora_alpha=LORA["lora_alpha"],
        lora_dropout=LORA["lora_dropout"],
        target_modules="all-linear",
    )
    model = get_peft_model(model, lora)
    label_ids = {label: i for i, label in enumerate(LABELS)}
    encoded = tokenizer([d.text for d in documents], truncation=True, max_length=max_length)
    dataset = [
        {"input_ids": ids, "labels": label_ids[d.label]}
        for ids, d in zip(encoded["input_ids"], documents, strict=True)
    ]
    losses: list[tuple[int, float]] = []
    clock: list[tuple[int, float]] = []

    class Losses(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            clock.append((0, time.perf_counter()))

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
            if logs and "loss" in logs:  # logging read the loss: the GPU has caught up
                clock.append((state.global_step, time.perf_counter()))
                losses.append((state.global_step, float(logs["loss"])))

    with tempfile.TemporaryDirectory() as output:
        arguments = HFArguments(
            output_dir=output,
            per_device_train_batch_size=batch,
            learning_rate=LEARNING_RATE,
            max_steps=steps,
            warmup_steps=round(0.1 * steps),
            bf16=True,
            logging_steps=10,  # as our loop on a GPU: reading the loss waits for the GPU
            save_strategy="no",
            eval_strategy="no",
            report_to=[],
            seed=42,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=arguments,
            train_dataset=dataset,  # type: ignore[arg-type]
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[Losses()],
        )
        seconds = trainer.train().metrics["train_runtime"]
    lengths = [len(row["input_ids"]) for row in dataset]
    tokens = sum(lengths[i % len(lengths)] for i in range(steps * batch))
    return summary("stock Trainer + PEFT", tokens, seconds, steps, losses, clock)


def summary(
    name: str,
    tokens: int,
    seconds: float,
    steps: int,
    losses: list[tuple[int, float]],
    clock: list[tuple[int, float]],
) -> dict[str, Any]:
    """The run's figures; `clock` holds (step, time) at each loss read, from which the first 10%
    of the steps (compiling, capturing graphs) and the steady rate after them are told apart,
    counting tokens as if every step had the mean step's."""
    tail = [loss for step, loss in losses if step > 0.9 * steps] or [losses[-1][1]]
    start = clock[0][1]
    after = [(step, at) for step, at in clock if step >= 0.1 * steps]
    (first_step, first_at), (last_step, last_at) = after[0], after[-1]
    steady_tokens = tokens * (last_step - first_step) / steps
    return {
        "name": name,
        "steps": steps,
        "train_seconds": round(seconds, 2),
        "tokens": tokens,
        "tokens_per_second": round(tokens / seconds),
        "first_10pct_seconds": round(first_at - start, 2),
        "tokens_per_second_after_10pct": round(steady_tokens / max(last_at - first_at, 1e-9)),
        "final_loss": round(sum(tail) / len(tail), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument(
        "--profile-steps",
        help="FIRST:LAST (multiples of 10): profile ours' GPU kernels between these steps",
    )
    parser.add_argument(
        "--no-stock", action="store_true", help="leave stock out (a diagnostic run, no ratios)"
    )
    parser.add_argument(
        "--stock-steps",
        type=int,
        help="stock's steps, when fewer than --steps (its rate as the reference of a long job)",
    )
    parser.add_argument(
        "--short-steps",
        type=int,
        help="also train ours with the defaults for this many steps, after stock (whether "
        "the compiled-layers rule leaves a short job eager)",
    )
    parser.add_argument(
        "--levers",
        choices=["none", "quick", "compile", "all"],
        default="none",
        help="also train ours with speed levers off: the CUDA graph ones (quick), with the "
        "kernel-count levers (compile: compiled layers, fused adapter additions, Liger's "
        "kernels, LoRA dropout 0), or each lever and all of them at once (all)",
    )
    parser.add_argument(
        "--run",
        action="append",
        choices=list(LEVER_RUNS),
        help="the variants of ours to train after ours and stock, instead of --levers' list",
    )
    options = parser.parse_args()
    if options.profile_steps:
        global PROFILE_STEPS
        first, last = options.profile_steps.split(":")
        PROFILE_STEPS = (int(first), int(last))
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qwen3-0.6b-random"
        words = make_model(folder)
        documents = make_documents(
            words, -(-options.steps * options.batch // len(LABELS)), options.max_length, seed=1
        )
        names = {
            "none": ["ours"],
            "quick": QUICK_RUNS,
            "compile": COMPILE_RUNS,
            "all": list(LEVER_RUNS),
        }[options.levers]
        if options.run:
            names = ["ours", *[name for name in options.run if name != "ours"]]
        # Liger's rotary embeddings, once routed, stay so in this process: those runs go last.
        names = sorted(names, key=lambda name: bool(LEVER_RUNS[name].get("liger_kernels")))
        sizes = (options.steps, options.batch, options.max_length)
        shape = (options.batch, options.max_length)
        # Ours, then stock, then the variants: each line is printed as its run ends.
        results = [report(ours(folder, documents, *sizes, names[0]))]
        if not options.no_stock:
            stock_steps = options.stock_steps or options.steps
            results.append(report(stock(folder, documents, stock_steps, *shape)))
        if options.short_steps:
            short = ours(folder, documents, options.short_steps, *shape, "ours")
            report({**short, "name": f"ours, {options.short_steps} steps"})
        for name in names[1:]:
            try:
                results.append(report(ours(folder, documents, *sizes, name)))
            except Exception as error:  # noqa: BLE001 - one broken variant must not hide the rest
                print(json.dumps({"name": name, "error": repr(error)[:500]}), flush=True)
    if options.no_stock:
        return
    print(json.dumps(ratios_over_stock(results[0], results[1])))


def ratios_over_stock(ours: dict[str, Any], stock: dict[str, Any]) -> dict[str, float]:
    """Ours' rates over stock's, all steps and steady; and ours' rate over all its steps against
    stock's steady rate (what stock would approach over a job as long as ours when it ran
    fewer steps, `--stock-steps`)."""
    ratios = {
        f"ours_over_stock_{key}": round(ours[key] / stock[key], 2)
        for key in ("tokens_per_second", "tokens_per_second_after_10pct")
    }
    steady = stock["tokens_per_second_after_10pct"]
    ratios["ours_all_steps_over_stock_steady"] = round(ours["tokens_per_second"] / steady, 2)
    return ratios


def report(result: dict[str, Any]) -> dict[str, Any]:
    import torch

    result["gpu"] = torch.cuda.get_device_name()
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
