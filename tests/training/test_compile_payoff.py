"""The automatic setting of `SpeedLevers.compiled_layers` (`training/compile_payoff.py`): compiled
decoder layers for LoRA jobs long enough to repay the compile, explicit settings first, never on
a CPU. The job sizes are the fifth round's H200 benchmark (BENCHMARKS.md): Qwen3-0.6B, 27
compiled layers, hidden size 1024, 6,838 non-padding tokens a step."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from custom_classifier.training import backbones, compile_payoff, loop, step_graphs
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.compile_payoff import (
    LoraJob,
    epochs_early_stopping_cannot_cut,
    use_compiled_layers,
    why_layers_stay_eager,
)
from custom_classifier.training.loop import TrainingLoop
from custom_classifier.training.windows import encode_documents
from factories import make_topic_documents

TOKENS_PER_STEP = 6838
H200 = (9, 0)


def qwen3_job(steps: int, **changes: Any) -> LoraJob:
    job = LoraJob(
        tokens=steps * TOKENS_PER_STEP,
        compiled_layers=27,
        hidden_size=1024,
        compute_capability=H200,
    )
    return replace(job, **changes)


def test_the_measured_job_saves_what_the_h200_measured() -> None:
    # 25.3 ms a step (92.0 against 66.7 ms): 200 steps save about 5.1 s of 17.6 s compiling.
    assert qwen3_job(200).saved_seconds() == pytest.approx(200 * 0.0253)
    assert qwen3_job(700).saved_seconds() == pytest.approx(17.7, abs=0.1)


@pytest.mark.parametrize(
    ("steps", "compiled"),
    [(200, False), (700, False), (1000, False), (1100, True), (5000, True)],
)
def test_layers_compile_only_for_jobs_that_repay_the_compile_with_a_margin(
    steps: int, compiled: bool
) -> None:
    """Break-even is about 700 steps; the rule asks 1.5 times the compile, about 1,040 steps."""
    assert use_compiled_layers(None, qwen3_job(steps)) is compiled


def test_a_short_job_says_why_its_layers_stay_eager() -> None:
    reason = why_layers_stay_eager(qwen3_job(200))

    assert reason is not None and "too short" in reason and "26.4 s needed" in reason


def test_an_explicit_setting_wins_over_the_rule() -> None:
    assert use_compiled_layers(True, qwen3_job(10)) is True
    assert use_compiled_layers(False, qwen3_job(100_000)) is False
    assert use_compiled_layers(True, qwen3_job(10, compute_capability=None)) is True


@pytest.mark.parametrize(
    "changes",
    [
        {"compute_capability": None},  # a CPU
        {"compute_capability": (7, 5)},
        {"decoder": False},
        {"cuda_graphs": False},
        {"liger_kernels": True},
        {"gradient_checkpointing": True},
    ],
)
def test_setups_never_measured_stay_eager_however_long_the_job(changes: dict[str, Any]) -> None:
    assert use_compiled_layers(None, qwen3_job(100_000, **changes)) is False


def test_the_saving_scales_with_layers_and_width() -> None:
    small = qwen3_job(1100, compiled_layers=11, hidden_size=576)  # SmolLM2-135M's shape

    assert small.saved_seconds() == pytest.approx(
        qwen3_job(1100).saved_seconds() * 11 / 27 * 576 / 1024
    )
    assert not use_compiled_layers(None, small)


def test_only_epochs_early_stopping_cannot_cut_count() -> None:
    assert epochs_early_stopping_cannot_cut(8, 3, validating=True) == 4
    assert epochs_early_stopping_cannot_cut(2, 3, validating=True) == 2
    assert epochs_early_stopping_cannot_cut(8, 0, validating=True) == 1
    assert epochs_early_stopping_cannot_cut(8, 3, validating=False) == 8


@pytest.fixture
def lora_loop(tiny_llama: Path) -> TrainingLoop:
    labels = ["sport", "finance"]
    args = TrainingArguments(epochs=6, early_stopping_patience=2, batch_size=4, max_length=32)
    tokenizer, model = backbones.load_base_model(str(tiny_llama), labels)
    model = backbones.add_lora_adapters(model, args)
    documents = make_topic_documents(dict.fromkeys(labels, 4), words=12, seed=3)
    train = encode_documents(tokenizer, documents, labels, args)
    validation = encode_documents(tokenizer, documents[:2], labels, args)
    return TrainingLoop(model, tokenizer, args, train, validation, labels)


def test_the_loop_describes_its_job_to_the_rule(lora_loop: TrainingLoop) -> None:
    job = lora_loop.lora_job(graphed=True, liger=False)

    assert job.tokens == int(lora_loop.bank.lengths.sum()) * 3  # the first epoch and 2 more
    assert job.compiled_layers == 1  # the tiny Llama's 2 layers but the first
    assert job.hidden_size == lora_loop.model.config.hidden_size
    assert job.compute_capability is None and job.decoder and not job.liger_kernels


def test_the_loop_compiles_nothing_on_a_cpu_even_when_asked(lora_loop: TrainingLoop) -> None:
    levers = step_graphs.SpeedLevers(compiled_layers=True)

    assert lora_loop.compiled is None
    assert lora_loop._compiled_code(levers, lora=True, graphed=False, liger=False) is None


def test_on_a_gpu_the_loop_follows_the_rule_unless_told(
    lora_loop: TrainingLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's choice on a (pretended) H200: the tiny job is too short for the rule, an
    explicit True compiles it anyway, and a cheap enough compile lets the rule compile it."""
    lora_loop.device = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_: H200)
    monkeypatch.setattr(loop, "CompiledLayers", lambda model: ("compiled", model))

    def choice(**levers: Any) -> Any:
        options = step_graphs.SpeedLevers(**levers)
        return lora_loop._compiled_code(options, lora=True, graphed=True, liger=False)

    assert choice() is None
    assert choice(compiled_layers=True) == ("compiled", lora_loop.model)
    monkeypatch.setattr(compile_payoff, "COMPILE_SECONDS", 1e-9)
    assert choice() == ("compiled", lora_loop.model)
    assert choice(compiled_layers=False) is None
