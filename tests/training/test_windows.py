"""Training windows: the on-device bank, batching and class weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from custom_classifier.inference.window_scorers import pad_windows
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.windows import (
    EncodedSplit,
    WindowBank,
    batch_policy,
    class_weights,
    shuffled_length_batches,
)


def test_window_bank_batches_match_the_padding_collator(tiny_base_model: Path) -> None:
    import torch
    from transformers import AutoTokenizer, DataCollatorWithPadding

    tokenizer = AutoTokenizer.from_pretrained(tiny_base_model)
    windows = [np.arange(1, n + 1, dtype=np.int32) for n in (5, 3, 7, 7)]
    bank = WindowBank(
        EncodedSplit(windows, np.arange(4), np.array([0, 1, 0, 1])), 0, torch.device("cpu")
    )
    rows = np.array([2, 1, 0])

    inputs, targets = bank.batch(rows, torch.from_numpy(rows))

    expected = DataCollatorWithPadding(tokenizer)(
        [{"input_ids": windows[i].tolist()} for i in rows]
    )
    assert torch.equal(inputs["input_ids"], expected["input_ids"])
    assert torch.equal(inputs["attention_mask"], expected["attention_mask"])
    assert targets.tolist() == [0, 1, 0]
    uniform, _ = bank.batch(np.array([2, 3]), torch.tensor([2, 3]))
    assert "attention_mask" not in uniform and uniform["input_ids"].shape == (2, 7)
    ids, mask = pad_windows([windows[i] for i in rows], 0)
    assert np.array_equal(ids, expected["input_ids"].numpy())
    assert np.array_equal(mask, expected["attention_mask"].numpy())


def test_a_causal_bank_pads_without_a_mask_and_shapes_name_the_kernels() -> None:
    import torch

    windows = [np.arange(1, n + 1, dtype=np.int32) for n in (5, 3, 7, 7)]
    split = EncodedSplit(windows, np.arange(4), np.array([0, 1, 0, 1]))
    rows = np.array([2, 1, 0])
    encoder = WindowBank(split, 0, torch.device("cpu"))
    decoder = WindowBank(split, 0, torch.device("cpu"), causal=True)

    inputs, _ = decoder.batch(rows, torch.from_numpy(rows))

    assert encoder.shape(rows) == (7, True) and decoder.shape(rows) == (7, False)
    assert encoder.shape(np.array([2, 3])) == decoder.shape(np.array([2, 3])) == (7, False)
    assert "attention_mask" not in inputs
    assert inputs["input_ids"][1].tolist() == [1, 2, 3, 0, 0, 0, 0]  # right-padded


def test_a_gpu_trains_with_its_own_batch_size_and_learning_rate() -> None:
    import torch

    args = TrainingArguments(
        batch_size=16, learning_rate=5e-5, gpu_batch_size=64, gpu_learning_rate=1e-4
    )

    assert batch_policy(args, torch.device("cpu")) == (16, 5e-5)
    assert batch_policy(args, torch.device("cuda")) == (64, 1e-4)
    assert batch_policy(replace(args, gpu_batch_size=None), torch.device("cuda")) == (16, 5e-5)


def test_class_weights_balance_label_counts() -> None:
    weights = class_weights(np.array([0, 0, 0, 1]), 3)

    assert weights.tolist() == pytest.approx([4 / 9, 4 / 3, 1.0])
    assert weights[0] * 3 == pytest.approx(weights[1] * 1)


def test_shuffled_length_batches_use_every_sample_once() -> None:
    lengths = np.arange(37) % 7
    batches = shuffled_length_batches(lengths, 8, np.random.default_rng(0))

    assert sorted(np.concatenate(batches).tolist()) == list(range(37))
    assert max(len(b) for b in batches) == 8


def test_padded_widths_are_multiples_of_64_on_every_device() -> None:
    """Few distinct shapes: on a CPU each new width kept about 10 MB of oneDNN's kernels."""
    import torch

    windows = [np.arange(1, n + 1, dtype=np.int32) for n in (100, 70, 130, 30)]
    bank = WindowBank(EncodedSplit(windows, np.arange(4), np.zeros(4)), 0, torch.device("cpu"))

    assert bank.shape(np.array([0, 1])) == (128, True)
    assert bank.shape(np.array([1, 3])) == (128, True)
    assert bank.shape(np.array([0, 2])) == (130, True)  # never wider than the longest window
    inputs, _ = bank.batch(np.array([1, 3]), torch.tensor([1, 3]))
    assert inputs["input_ids"].shape == (2, 128)
    assert inputs["attention_mask"].sum(dim=1).tolist() == [70, 30]
