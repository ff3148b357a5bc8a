"""The data-parallel launcher: ranks as subprocesses, on the CPU with gloo (2 processes)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from custom_classifier.corpus.models import Document, Split
from custom_classifier.errors import BaseModelError, TrainingCancelledError
from custom_classifier.inference.text_classifier import TextClassifier
from custom_classifier.training.arguments import Progress, TrainingArguments
from custom_classifier.training.data_parallel import (
    DATA_PARALLEL_MIN_TOKENS,
    estimated_training_tokens,
    fine_tune_data_parallel,
    training_processes,
)
from factories import make_topic_split

LABELS = ["sport", "finance"]
ARGS = TrainingArguments(
    epochs=2,
    learning_rate=1e-2,
    batch_size=4,
    max_length=32,
    warmup_ratio=0.0,
    export_onnx=False,
)


def test_two_processes_train_relay_progress_and_epochs_and_save_one_model(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    progress: list[Progress] = []
    epochs: list[tuple[int, dict[str, float]]] = []

    result = fine_tune_data_parallel(
        2,
        str(tiny_base_model),
        make_topic_split(LABELS, train=12, validation=4),
        LABELS,
        ARGS,
        tmp_path,
        on_progress=progress.append,
        on_epoch_end=lambda epoch, metrics: epochs.append((epoch, metrics)),
    )

    assert [epoch for epoch, _ in epochs] == [1, 2]
    assert all("val_macro_f1" in metrics for _, metrics in epochs)
    assert [entry["epoch"] for entry in result.history] == [1.0, 2.0]
    steps = [p.step for p in progress]
    assert steps == sorted(steps) and steps[-1] == progress[-1].total_steps
    # 24 windows, 4 per process and step, 2 processes: 3 steps an epoch.
    assert progress[-1].total_steps == 6
    labels = [p["label"] for p in TextClassifier.load(result.model_dir).predict(["a", "b"])]
    assert set(labels) <= set(LABELS)
    assert not list(tmp_path.glob("*.pkl"))


def test_cancelling_stops_every_process(tiny_base_model: Path, tmp_path: Path) -> None:
    seen: list[Progress] = []

    with pytest.raises(TrainingCancelledError):
        fine_tune_data_parallel(
            2,
            str(tiny_base_model),
            make_topic_split(LABELS, train=12, validation=4),
            LABELS,
            replace(ARGS, epochs=50),
            tmp_path,
            on_progress=seen.append,
            should_stop=lambda: bool(seen),
        )

    assert seen and seen[-1].step < seen[-1].total_steps
    assert not (tmp_path / "model").exists()


def test_an_error_in_the_processes_reaches_the_caller(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="no-such-model"):
        fine_tune_data_parallel(
            2,
            str(tmp_path / "no-such-model"),
            make_topic_split(LABELS, train=12, validation=4),
            LABELS,
            ARGS,
            tmp_path / "out",
        )


def test_large_trainings_use_every_visible_gpu_unless_fewer_are_asked_for() -> None:
    large = DATA_PARALLEL_MIN_TOKENS
    assert training_processes(None, large, visible_gpus=0) == 1
    assert training_processes(None, large, visible_gpus=1) == 1
    assert training_processes(None, large, visible_gpus=4) == 4
    assert training_processes(2, large, visible_gpus=4) == 2
    assert training_processes(8, large, visible_gpus=4) == 4
    assert training_processes(1, large, visible_gpus=4) == 1


def test_small_trainings_stay_on_one_gpu() -> None:
    assert training_processes(None, DATA_PARALLEL_MIN_TOKENS - 1, visible_gpus=8) == 1


def test_training_tokens_are_estimated_from_characters_windows_and_epochs() -> None:
    split = Split(
        train=[
            Document(id="short", label="sport", text="x" * 400),  # about 100 tokens
            Document(id="long", label="sport", text="x" * 40_000),  # 10,000 tokens
        ],
        validation=[],
        test=[],
    )
    head = TrainingArguments(max_length=512, epochs=3)
    chunks = replace(head, long_document_strategy="chunks", max_chunks_per_document=8)

    assert estimated_training_tokens(split, head) == (100 + 512) * 3
    assert estimated_training_tokens(split, chunks) == (100 + 4096) * 3


def test_rank_zero_stops_when_its_caller_is_gone() -> None:
    from multiprocessing import Pipe

    from custom_classifier.training.data_parallel import _relaying

    caller, rank_zero = Pipe()
    callbacks = _relaying(rank_zero)
    caller.send("cancel")
    assert callbacks["should_stop"]() is True

    caller, rank_zero = Pipe()
    callbacks = _relaying(rank_zero)
    callbacks["on_progress"](Progress(step=1, total_steps=2, epoch=0.5))
    assert caller.recv()[0] == "progress"
    assert callbacks["should_stop"]() is False
    caller.close()
    callbacks["on_progress"](Progress(step=2, total_steps=2, epoch=1.0))  # no error
    assert callbacks["should_stop"]() is True
