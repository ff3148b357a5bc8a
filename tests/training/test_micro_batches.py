"""Micro-batches with gradient accumulation on the CPU: the whole batch's gradient, class
weights included, from a tiny random BERT in float32 (dropout off, so that only rounding differs)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.micro_batches import (
    loss_denominator,
    micro_batch_size,
    micro_batches,
    summed_loss,
)
from factories import load_without_dropout, make_topic_documents

LABELS = ["sport", "finance", "cooking"]


def test_a_micro_batch_holds_at_most_the_token_budget_and_at_least_one_window() -> None:
    assert micro_batch_size(512, 16, 4096) == 8
    assert micro_batch_size(256, 16, 4096) == 16
    assert micro_batch_size(64, 16, 4096) == 16  # never more than the batch
    assert micro_batch_size(512, 16, 100) == 1
    sizes = [len(part) for part in micro_batches(torch.arange(11), 4)]
    assert sizes == [4, 4, 3]


def test_summed_losses_over_the_denominator_give_the_mean_loss() -> None:
    torch.manual_seed(0)
    logits, targets = torch.randn(7, 3), torch.tensor([0, 2, 2, 1, -100, 0, 2])
    weighted = torch.nn.CrossEntropyLoss(weight=torch.tensor([0.5, 2.0, 1.5]))
    for loss in (weighted, torch.nn.CrossEntropyLoss()):
        parts = sum(
            summed_loss(loss)(logits[i : i + 3], targets[i : i + 3]) for i in range(0, 7, 3)
        )
        torch.testing.assert_close(parts / loss_denominator(loss, targets), loss(logits, targets))
    multi = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0, 1.0, 0.5]))
    truth = (torch.rand(7, 3) > 0.5).float()
    parts = sum(summed_loss(multi)(logits[i : i + 2], truth[i : i + 2]) for i in range(0, 7, 2))
    torch.testing.assert_close(parts / loss_denominator(multi, truth), multi(logits, truth))


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_a_micro_batched_cpu_step_has_the_whole_batch_gradient(
    tiny_base_model: Path, mode: str
) -> None:
    """Class-weighted (single-label: unequal label counts) or with BCE's positive weights; a
    padded batch of 7 windows split into micro-batches of 2, 2, 2 and 1."""
    from custom_classifier.training.loop import TrainingLoop
    from custom_classifier.training.windows import encode_documents

    documents = [
        document
        for words, counts in ((6, (1, 3, 1)), (14, (2, 1, 3)), (25, (1, 2, 1)))
        for document in make_topic_documents(
            dict(zip(LABELS, counts, strict=True)), words=words, seed=words
        )
    ]
    args = TrainingArguments(
        epochs=1,
        batch_size=8,
        max_length=32,
        mixed_precision=False,
        mode=mode,  # type: ignore[arg-type]
    )
    tokenizer, model = load_without_dropout(tiny_base_model, LABELS, multi_label=mode == "multi")
    reference = copy.deepcopy(model)
    train = encode_documents(tokenizer, documents, LABELS, args)
    none = encode_documents(tokenizer, [], LABELS, args)
    loop = TrainingLoop(model, tokenizer, args, train, none, LABELS)
    assert loop.step_tokens is not None  # on a CPU
    batch = np.array([0, 3, 5, 8, 10, 12, 14])
    width, masked = loop.bank.shape(batch)
    assert masked and len(set(loop.bank.lengths[batch])) > 1
    loop.step_tokens = 2 * width
    gradients: list[torch.Tensor] = []
    loop.optimizer.register_step_pre_hook(
        lambda optimizer, *_: gradients.extend(
            p.grad.clone() for g in optimizer.param_groups for p in g["params"]
        )
    )
    model.train()
    loss = loop._train_step(batch, torch.from_numpy(batch))

    inputs, targets = loop.bank.batch(batch, torch.from_numpy(batch))
    reference.train()
    expected_loss = loop.loss_fn(reference(**inputs).logits, targets)
    expected_loss.backward()
    torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
    torch.testing.assert_close(loss, expected_loss.detach())
    expected = dict(reference.named_parameters())
    names = {id(p): n for n, p in model.named_parameters()}
    optimized = [names[id(p)] for g in loop.optimizer.param_groups for p in g["params"]]
    assert len(optimized) == len(gradients)
    for name, gradient in zip(optimized, gradients, strict=True):
        torch.testing.assert_close(gradient, expected[name].grad, rtol=1e-4, atol=1e-6, msg=name)
