"""The training loop's epoch boundaries: a run nobody watches reads no loss until its end, the
next epoch's batches are planned before an epoch returns, and the best epoch's weights are
copied only when a later epoch could replace them. Losses and weights stay those of a run that
reads every epoch's metrics (a tiny random BERT on the CPU)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from custom_classifier.training import backbones
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.loop import EpochLoss, TrainingLoop
from custom_classifier.training.windows import encode_documents
from factories import make_topic_documents

LABELS = ["sport", "finance", "cooking"]
ARGS = TrainingArguments(
    epochs=3, batch_size=4, max_length=32, learning_rate=1e-3, mixed_precision=False
)


@pytest.fixture(scope="module")
def base(tiny_base_model: Path) -> tuple[Any, Any]:
    return backbones.load_base_model(str(tiny_base_model), LABELS, attention_dropout=0.0)


def make_loop(base: tuple[Any, Any], *, validation: int = 0, **callbacks: Any) -> TrainingLoop:
    tokenizer, model = base
    documents = make_topic_documents(dict.fromkeys(LABELS, 5), words=20, seed=1)
    held_out = make_topic_documents(dict.fromkeys(LABELS, validation), seed=2, prefix="val")
    train = encode_documents(tokenizer, documents, LABELS, ARGS)
    checked = encode_documents(tokenizer, held_out, LABELS, ARGS)
    torch.manual_seed(0)  # the same dropout masks in every loop
    return TrainingLoop(copy.deepcopy(model), tokenizer, ARGS, train, checked, LABELS, **callbacks)


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_a_run_nobody_watches_reads_its_losses_at_the_end_and_trains_the_same(
    base: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    mean, train_epoch = EpochLoss.mean, TrainingLoop._train_epoch
    monkeypatch.setattr(EpochLoss, "mean", lambda self: events.append("read") or mean(self))
    monkeypatch.setattr(
        TrainingLoop,
        "_train_epoch",
        lambda self, epoch: events.append(f"epoch {epoch}") or train_epoch(self, epoch),
    )
    epochs_seen: list[int] = []
    watched = make_loop(base)
    watched_history, watched_best = watched.run(lambda epoch, _: epochs_seen.append(epoch))
    assert events == ["epoch 1", "read", "epoch 2", "read", "epoch 3", "read"]
    events.clear()

    unwatched = make_loop(base)
    history, best = unwatched.run(None)

    assert events == ["epoch 1", "epoch 2", "epoch 3", "read", "read", "read"]
    assert history == watched_history and best == watched_best == 3
    assert epochs_seen == [1, 2, 3]
    assert [entry["epoch"] for entry in history] == [1.0, 2.0, 3.0]
    for name, value in weights(watched.model).items():
        assert torch.equal(weights(unwatched.model)[name], value), name


def test_the_next_epochs_batches_are_planned_before_an_epoch_returns(
    base: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, int]] = []
    loop = make_loop(base)
    plan, step = loop._epoch_batches, loop._train_step
    used: list[np.ndarray] = []

    def planned(epoch: int) -> tuple[list[np.ndarray], list[torch.Tensor]]:
        events.append(("plan", epoch))
        return plan(epoch)

    def stepped(batch: np.ndarray, rows: torch.Tensor) -> torch.Tensor:
        events.append(("step", loop.step))
        used.append(batch)
        return step(batch, rows)

    def trained(epoch: int) -> EpochLoss:
        loss = train_epoch(epoch)
        events.append(("returned", epoch))
        return loss

    train_epoch = loop._train_epoch
    monkeypatch.setattr(loop, "_epoch_batches", planned)
    monkeypatch.setattr(loop, "_train_step", stepped)
    monkeypatch.setattr(loop, "_train_epoch", trained)
    loop.run(None)

    n = loop.batches_per_epoch
    steps = {epoch: [("step", s) for s in range((epoch - 1) * n, epoch * n)] for epoch in (1, 2, 3)}
    assert events == [
        ("plan", 1),
        *steps[1],
        ("plan", 2),
        ("returned", 1),
        *steps[2],
        ("plan", 3),
        ("returned", 2),
        *steps[3],
        ("returned", 3),
    ]
    fresh, _ = plan(2)  # the same plan as the epoch would have made for itself
    assert [b.tolist() for b in used[n : 2 * n]] == [b.tolist() for b in fresh]


@pytest.mark.parametrize(
    ("scores", "copies", "best_epoch", "kept"),
    [
        ((0.5, 0.7, 0.6), 2, 2, 2),  # epoch 2 copied, restored after epoch 3
        ((0.5, 0.6, 0.7), 2, 3, 3),  # the last epoch is best: not copied, nothing restored
        ((1.0, 0.0, 0.0), 0, 1, 1),  # perfect at once: training stops, nothing to restore
    ],
)
def test_the_best_epoch_is_copied_only_when_a_later_epoch_could_replace_it(
    base: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    scores: tuple[float, ...],
    copies: int,
    best_epoch: int,
    kept: int,
) -> None:
    copied: list[None] = []
    trainable_state = backbones.trainable_state
    monkeypatch.setattr(
        backbones, "trainable_state", lambda model: copied.append(None) or trainable_state(model)
    )
    after_epoch: dict[int, dict[str, torch.Tensor]] = {}
    loop = make_loop(base, validation=2)
    script = iter(scores)
    monkeypatch.setattr(loop, "_validate", lambda: {"val_macro_f1": next(script)})

    history, best = loop.run(lambda epoch, _: after_epoch.update({epoch: weights(loop.model)}))

    assert (len(copied), best) == (copies, best_epoch)
    assert len(history) == len(after_epoch)
    for name, value in after_epoch[kept].items():
        assert torch.equal(weights(loop.model)[name], value), name


def test_rows_reach_the_device_as_planned(base: tuple[Any, Any]) -> None:
    loop = make_loop(base)
    rows = np.array([[3, 1], [0, 2]])

    on_device = loop._to_device(rows)

    assert on_device.device == loop.device and on_device.tolist() == rows.tolist()
