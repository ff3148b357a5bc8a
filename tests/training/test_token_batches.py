"""Batches by token budget (`SpeedLevers.token_budget_batches`): one shape for every packed step
of a run, every window trained once per epoch, and the padded step's loss and gradients.

As in test_packing.py, a tiny random BERT in float32 with `segment_attention` (SDPA, window by
window) standing in for the GPU's variable-length flash attention.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.packing import packed_logits, segment_attention
from custom_classifier.training.token_batches import IGNORED_TARGET, TokenBudget
from factories import load_without_dropout, make_topic_documents
from training.test_packing import bank_of, tiny_bert


def bbc_like_lengths(count: int, width: int = 128, seed: int = 0) -> np.ndarray:
    """36% of the windows full, the rest spread over a fifth of the width and up (BBC's mix)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(width // 5, width, size=count)
    lengths[rng.random(count) < 0.36] = width
    return lengths


@pytest.mark.parametrize("batch_size", [16, 64])
def test_every_window_is_in_one_batch_per_epoch_and_every_batch_has_one_shape(
    batch_size: int,
) -> None:
    lengths = bbc_like_lengths(1000)
    budget = TokenBudget.for_windows(lengths, batch_size)
    keys = set()
    epochs = []
    for epoch in range(1, 4):
        batches = budget.plan(lengths, np.random.default_rng(epoch))
        epochs.append(batches)

        assert len(batches) == budget.batches == -(-1000 // batch_size)
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
        assert all(int(lengths[b].sum()) <= budget.tokens for b in batches)
        assert max(len(b) for b in batches) <= budget.slots
        assert budget.slot_rows(batches, empty_row=1000).shape == (budget.batches, budget.slots)
        keys |= {budget.key(int(lengths[b].sum())) for b in batches}

    assert keys == {(budget.slots, budget.tokens, budget.fillers)}
    # Filler windows make up at most 1 longest window per batch (and the rounding to 64).
    filler = 1 - lengths.sum() / (budget.batches * budget.tokens)
    assert filler < (128 + 64) / (lengths.sum() / budget.batches)
    assert budget.tokens - int(min(lengths[b].sum() for b in epochs[0])) <= budget.fillers * 128
    # Shuffled: the epochs' batches differ, and are not sorted by length.
    assert epochs[0][0].tolist() != epochs[1][0].tolist()
    assert not np.all(np.diff(lengths[epochs[0][0]]) >= 0)


def test_batches_whose_slots_run_out_start_an_extra_batch_that_still_fits() -> None:
    lengths = np.array([1, 1, 1, 1, 1, 1, 9])
    budget = TokenBudget(batches=2, tokens=10, slots=2, width=9)

    batches = budget.plan(lengths, np.random.default_rng(0))

    assert len(batches) > 2
    assert sorted(np.concatenate(batches).tolist()) == list(range(7))
    for batch in batches:
        assert len(batch) <= 2 and int(lengths[batch].sum()) <= 10
        slots, tokens, fillers = budget.key(int(lengths[batch].sum()))
        assert (slots, tokens) == (2, 10) and fillers * 9 >= 10 - int(lengths[batch].sum())


def test_a_budget_batch_gives_the_padded_batchs_weighted_loss_and_gradients() -> None:
    """Empty window slots (the bank's empty row) and filler windows change neither the
    class-weighted loss nor any gradient of the same windows padded."""
    model = tiny_bert().train()  # dropouts are 0
    bank = bank_of((7, 3, 12, 1, 12, 5))
    rows = np.array([4, 0, 3, 1])
    weights = torch.tensor([0.5, 2.0, 1.0])
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    slots = torch.tensor([*rows, bank.empty_row, bank.empty_row])
    budget = TokenBudget(batches=1, tokens=64, slots=6, width=12)

    batch, targets = bank.packed(slots, budget.key(int(bank.lengths[rows].sum())))

    assert len(batch.input_ids) == 64 and batch.windows == 6
    assert targets[4:].tolist() == [IGNORED_TARGET] * 2
    assert int(batch.cu_seqlens.diff().max()) <= 12

    def loss_and_gradients(loss: torch.Tensor) -> tuple[float, dict[str, torch.Tensor]]:
        loss.backward()
        gradients = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        model.zero_grad(set_to_none=True)
        return float(loss.detach()), gradients

    packed = loss_and_gradients(loss_fn(packed_logits(model, batch, segment_attention), targets))
    inputs, padded_targets = bank.batch(rows, torch.from_numpy(rows))
    padded = loss_and_gradients(loss_fn(model(**inputs).logits, padded_targets))

    assert packed[0] == pytest.approx(padded[0], rel=1e-5)
    assert packed[1].keys() == padded[1].keys()
    for name, gradient in padded[1].items():
        torch.testing.assert_close(packed[1][name], gradient, rtol=1e-4, atol=1e-6, msg=name)


def test_the_loop_trains_every_window_once_per_epoch_in_one_step_shape(
    tiny_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop with `token_budget_batches`: every step of every epoch one key, each window
    once per epoch, the planned step count; its first step's gradients are those of the
    same windows padded, class-weighted and clipped as the loop does."""
    from custom_classifier.training import packing, step_graphs
    from custom_classifier.training.loop import TrainingLoop
    from custom_classifier.training.windows import encode_documents

    levers = step_graphs.SpeedLevers(token_budget_batches=True, frozen_word_embeddings=False)
    monkeypatch.setattr(step_graphs, "LEVERS", levers)
    monkeypatch.setattr(packing, "why_not_packed", lambda *_, **__: None)
    monkeypatch.setattr(packing, "flash_varlen_attention", segment_attention)
    labels = ["sport", "finance", "cooking"]
    documents = [
        document
        for words, count in ((3, 2), (9, 3), (20, 5), (40, 4))
        for document in make_topic_documents(dict.fromkeys(labels, count), words=words, seed=words)
    ]
    args = TrainingArguments(epochs=2, batch_size=8, max_length=32, mixed_precision=False)
    tokenizer, model = load_without_dropout(tiny_base_model, labels)
    reference = copy.deepcopy(model)
    train = encode_documents(tokenizer, documents, labels, args)
    none = encode_documents(tokenizer, [], labels, args)
    loop = TrainingLoop(model, tokenizer, args, train, none, labels)
    steps: list[tuple[np.ndarray, tuple[int, int, int]]] = []
    train_step = loop._train_step

    def recorded(batch: np.ndarray, rows: torch.Tensor) -> torch.Tensor:
        steps.append((batch, loop.budget.key(int(loop.bank.lengths[batch].sum()))))
        assert rows.shape == (loop.budget.slots,)
        return train_step(batch, rows)

    gradients: list[list[torch.Tensor]] = []
    loop.optimizer.register_step_pre_hook(
        lambda optimizer, *_: gradients.append(
            [p.grad.clone() for g in optimizer.param_groups for p in g["params"]]
        )
    )
    monkeypatch.setattr(loop, "_train_step", recorded)
    loop.run(None)

    windows = len(train.windows)
    assert loop.budget is not None and loop.budget.batches == -(-windows // 8)
    assert len(steps) == loop.total_steps == 2 * loop.budget.batches
    assert len({key for _, key in steps}) == 1
    for epoch in (steps[: loop.budget.batches], steps[loop.budget.batches :]):
        assert sorted(np.concatenate([batch for batch, _ in epoch]).tolist()) == list(
            range(windows)
        )
    first = steps[0][0]
    inputs, targets = loop.bank.batch(first, torch.from_numpy(first))
    reference.train()
    loop.loss_fn(reference(**inputs).logits, targets).backward()
    torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
    expected = {n: p.grad for n, p in reference.named_parameters()}
    optimized = [n for g in loop.optimizer.param_groups for n in _names(model, g["params"])]
    for name, gradient in zip(optimized, gradients[0], strict=True):
        torch.testing.assert_close(gradient, expected[name], rtol=1e-4, atol=1e-6, msg=name)


def test_multi_label_and_padded_loops_keep_batches_of_a_window_count(
    tiny_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_classifier.training import packing, step_graphs
    from custom_classifier.training.backbones import load_base_model
    from custom_classifier.training.loop import TrainingLoop
    from custom_classifier.training.windows import encode_documents

    monkeypatch.setattr(step_graphs, "LEVERS", step_graphs.SpeedLevers(token_budget_batches=True))
    labels = ["sport", "finance"]
    documents = make_topic_documents(dict.fromkeys(labels, 4), words=12, seed=3)
    tokenizer, model = load_base_model(str(tiny_base_model), labels, attention_dropout=0.0)

    def loop(mode: str) -> TrainingLoop:
        args = TrainingArguments(epochs=1, batch_size=4, max_length=32, mode=mode)  # type: ignore[arg-type]
        train = encode_documents(tokenizer, documents, labels, args)
        none = encode_documents(tokenizer, [], labels, args)
        return TrainingLoop(copy.deepcopy(model), tokenizer, args, train, none, labels)

    assert loop("single").budget is None  # on a CPU: padded batches
    monkeypatch.setattr(packing, "why_not_packed", lambda *_, **__: None)
    assert loop("single").budget is not None
    assert loop("multi").budget is None


def _names(model: torch.nn.Module, parameters: list[torch.nn.Parameter]) -> list[str]:
    by_id = {id(p): n for n, p in model.named_parameters()}
    return [by_id[id(p)] for p in parameters]
