"""Packed training batches: the same logits and gradients as padded ones, and when they apply.

The CUDA kernel (variable-length flash attention) cannot run here; `segment_attention` computes
the same function window by window, so these tests check the packing itself: position ids
restarting per window, the [CLS] gather, and the layers run in the model's own order.
`benchmarks/minilm_step_gpu.py` checks the flash kernel against the padded forward on a GPU.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.backbones import freeze_word_embeddings
from custom_classifier.training.compiled_layers import CompiledPackedLayer
from custom_classifier.training.packing import (
    PackedBatch,
    packed_logits,
    segment_attention,
    why_not_packed,
)
from custom_classifier.training.windows import (
    PACKED_TOKEN_MULTIPLE,
    EncodedSplit,
    WindowBank,
    encode_documents,
)
from factories import load_without_dropout, make_topic_documents

LENGTHS = (7, 3, 12, 1, 12, 5)


def tiny_bert(**overrides: float) -> BertForSequenceClassification:
    torch.manual_seed(0)
    settings: dict[str, float] = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    config = BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=16,
        num_labels=3,
        **(settings | overrides),
    )
    return BertForSequenceClassification(config).float()


def bank_of(lengths: tuple[int, ...]) -> WindowBank:
    rng = np.random.default_rng(1)
    windows = [rng.integers(1, 50, size=n).astype(np.int32) for n in lengths]
    labels = rng.integers(0, 3, size=len(lengths))
    split = EncodedSplit(windows, np.arange(len(windows)), labels)
    return WindowBank(split, pad_id=0, device=torch.device("cpu"))


def pack(bank: WindowBank, rows: np.ndarray, *, fixed_shapes: bool = False) -> tuple:
    return bank.packed(torch.from_numpy(rows), bank.packed_key(rows, fixed_shapes=fixed_shapes))


def test_packed_batches_lay_windows_end_to_end_with_positions_restarting() -> None:
    bank = bank_of(LENGTHS)
    rows = np.array([2, 1, 3])

    packed, targets = pack(bank, rows)

    expected_ids = np.concatenate([bank.ids[i, : LENGTHS[i]].numpy() for i in rows])
    assert packed.input_ids.tolist() == expected_ids.tolist()
    assert packed.position_ids.tolist() == [*range(12), *range(3), 0]
    assert packed.cu_seqlens.tolist() == [0, 12, 15, 16]
    assert packed.cu_seqlens.dtype == torch.int32
    assert packed.max_length == 12
    assert packed.first_tokens.tolist() == [0, 12, 15]
    assert packed.input_ids[packed.first_tokens].tolist() == bank.ids[rows, 0].tolist()
    assert torch.equal(targets, bank.labels[rows])


def test_packed_logits_equal_the_padded_forward() -> None:
    model = tiny_bert().eval()
    bank = bank_of(LENGTHS)
    rows = np.array([4, 0, 3, 1])
    inputs, _ = bank.batch(rows, torch.from_numpy(rows))
    assert "attention_mask" in inputs  # the padded side really is masked

    packed, _ = pack(bank, rows)
    with torch.no_grad():
        padded = model(**inputs).logits
        ours = packed_logits(model, packed, attention=segment_attention)

    assert ours.shape == (4, 3)
    torch.testing.assert_close(ours, padded, rtol=1e-5, atol=1e-5)


def test_a_packed_step_gives_the_padded_steps_gradients() -> None:
    model = tiny_bert().train()  # dropouts are 0: the two forwards are deterministic
    bank = bank_of(LENGTHS)
    rows = np.array([0, 1, 2, 5])
    inputs, targets = bank.batch(rows, torch.from_numpy(rows))

    def gradients(logits: torch.Tensor) -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(logits, targets).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    padded = gradients(model(**inputs).logits)
    batch, _ = pack(bank, rows)
    packed = gradients(packed_logits(model, batch, attention=segment_attention))

    assert padded.keys() == packed.keys()
    assert "bert.embeddings.position_embeddings.weight" in packed
    for name, gradient in padded.items():
        torch.testing.assert_close(packed[name], gradient, rtol=1e-4, atol=1e-6, msg=name)


def test_filler_windows_round_the_tokens_up_and_change_neither_logits_nor_gradients() -> None:
    model = tiny_bert().train()
    bank = bank_of(LENGTHS)
    rows = np.array([4, 0, 3, 1])
    targets = bank.labels[rows]

    exact, _ = pack(bank, rows)
    filled, _ = pack(bank, rows, fixed_shapes=True)

    fillers = -(-(PACKED_TOKEN_MULTIPLE - 1) // bank.ids.shape[1])
    assert bank.packed_key(rows, fixed_shapes=True) == (4, PACKED_TOKEN_MULTIPLE, fillers)
    assert len(filled.input_ids) == PACKED_TOKEN_MULTIPLE and filled.windows == 4
    real = int(exact.cu_seqlens[-1])
    assert filled.cu_seqlens[:5].tolist() == exact.cu_seqlens.tolist()
    assert filled.input_ids[:real].tolist() == exact.input_ids.tolist()
    assert int(filled.position_ids.max()) < bank.ids.shape[1]  # fillers fit the positions
    assert int(filled.cu_seqlens.diff().max()) <= bank.ids.shape[1]

    def logits_and_gradients(batch: PackedBatch) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        logits = packed_logits(model, batch, attention=segment_attention)
        torch.nn.functional.cross_entropy(logits, targets).backward()
        return logits.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    exact_logits, exact_gradients = logits_and_gradients(exact)
    filled_logits, filled_gradients = logits_and_gradients(filled)
    torch.testing.assert_close(filled_logits, exact_logits, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(filled_gradients, exact_gradients, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_packing_applies_to_bert_on_a_gpu_only_and_says_why_not() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")

    assert "CUDA" in (why_not_packed(tiny_bert(), cpu, world=1) or "")
    assert "dropout" in (
        why_not_packed(tiny_bert(attention_probs_dropout_prob=0.1), cuda, world=1) or ""
    )
    assert "data-parallel" in (why_not_packed(tiny_bert(), cuda, world=2) or "")
    other = torch.nn.Linear(2, 2)
    assert "Linear has no packed forward" in (why_not_packed(other, cuda, world=1) or "")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_flash_varlen_attention_matches_the_reference_on_a_gpu() -> None:
    from custom_classifier.training.packing import flash_varlen_attention

    cu_seqlens = torch.tensor([0, 5, 6, 19], dtype=torch.int32, device="cuda")
    q, k, v = (torch.randn(19, 4, 32, device="cuda", dtype=torch.bfloat16) for _ in range(3))

    torch.testing.assert_close(
        flash_varlen_attention(q, k, v, cu_seqlens, 13),
        segment_attention(q, k, v, cu_seqlens, 13),
        rtol=2e-2,
        atol=2e-2,
    )


def test_the_loops_packed_step_computes_the_padded_steps_loss_and_gradients(
    tiny_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training loop's first step, packed (the GPU kernel replaced by its reference) and
    padded, from the same weights on the same batch, dropout off: the same logits and the same
    gradients reach the optimizer. (Later steps are not compared: Adam's first updates are
    about `lr * sign(gradient)`, so rounding-level differences in near-zero gradients grow.)"""
    from custom_classifier.training import packing, step_graphs
    from custom_classifier.training.loop import TrainingLoop

    # The padded step's weights, and its batch of a window count (token-budget batches hold
    # the same windows in another order: test_token_batches.py compares those).
    levers = step_graphs.SpeedLevers(frozen_word_embeddings=False, token_budget_batches=False)
    monkeypatch.setattr(step_graphs, "LEVERS", levers)
    labels = ["sport", "finance"]
    documents = [
        document
        for words in (3, 9, 20, 40)
        for document in make_topic_documents(dict.fromkeys(labels, 3), words=words, seed=words)
    ]
    # One batch of every length, in float32 (no bf16 autocast on CPUs that have bf16 units).
    args = TrainingArguments(epochs=1, batch_size=24, max_length=32, mixed_precision=False)
    tokenizer, model = load_without_dropout(tiny_base_model, labels)
    train = encode_documents(tokenizer, documents, labels, args)
    none = encode_documents(tokenizer, [], labels, args)

    def first_step(loop: TrainingLoop) -> tuple[torch.Tensor, list[torch.Tensor]]:
        logits: list[torch.Tensor] = []
        gradients: list[list[torch.Tensor]] = []
        loss_fn = loop.loss_fn
        loop.loss_fn = lambda output, targets: logits.append(output) or loss_fn(output, targets)
        loop.optimizer.register_step_pre_hook(
            lambda optimizer, *_: gradients.append(
                [p.grad.clone() for g in optimizer.param_groups for p in g["params"]]
            )
        )
        loop.run(None)
        return logits[0], gradients[0]

    padded = TrainingLoop(copy.deepcopy(model), tokenizer, args, train, none, labels)
    assert not padded.packed  # on a CPU the loop keeps padded batches by itself
    padded.step_tokens = None  # the whole padded batch at once (micro-batches: their own test)
    assert len(set(padded.bank.lengths)) > 3
    monkeypatch.setattr(packing, "why_not_packed", lambda *_, **__: None)
    monkeypatch.setattr(packing, "flash_varlen_attention", segment_attention)
    packed = TrainingLoop(copy.deepcopy(model), tokenizer, args, train, none, labels)
    assert packed.packed
    monkeypatch.setattr(step_graphs, "LEVERS", step_graphs.SpeedLevers(packed_windows=False))
    assert not TrainingLoop(copy.deepcopy(model), tokenizer, args, train, none, labels).packed

    padded_logits, padded_gradients = first_step(padded)
    packed_logits_, packed_gradients = first_step(packed)

    torch.testing.assert_close(packed_logits_, padded_logits, rtol=1e-5, atol=1e-5)
    assert len(packed_gradients) == len(padded_gradients) > 30
    for ours, theirs in zip(packed_gradients, padded_gradients, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def packed_step(
    model: BertForSequenceClassification, batch: PackedBatch, targets: torch.Tensor, **options: Any
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits and gradients of one packed step (the flash kernel replaced by its reference)."""
    model.zero_grad(set_to_none=True)
    logits = packed_logits(model, batch, attention=segment_attention, **options)
    torch.nn.functional.cross_entropy(logits, targets).backward()
    gradients = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return logits.detach(), gradients


def test_the_compiled_packed_layer_computes_the_eager_ones_logits_and_gradients() -> None:
    """`SpeedLevers.compiled_packed_layers`, with the `aot_eager` backend (traced and split into
    forward and backward as inductor gets it, without its C++ compile), on two token counts."""
    torch._dynamo.reset()
    model = tiny_bert().train()
    bank = bank_of(LENGTHS)
    compiled = CompiledPackedLayer(backend="aot_eager")
    for rows in (np.array([4, 0, 3, 1]), np.array([2, 5])):
        batch, targets = pack(bank, rows)
        eager_logits, eager_gradients = packed_step(model, batch, targets)
        step = functools.partial(packed_step, model, batch, targets, layer_forward=compiled)
        logits, gradients = compiled.run(step)
        torch.testing.assert_close(logits, eager_logits, rtol=1e-5, atol=1e-6)
        assert gradients.keys() == eager_gradients.keys()
        for name, gradient in eager_gradients.items():
            torch.testing.assert_close(gradients[name], gradient, rtol=1e-4, atol=1e-6, msg=name)
    assert compiled.active
    torch._dynamo.reset()


def test_a_packed_layer_that_fails_to_compile_leaves_the_step_eager() -> None:
    torch._dynamo.reset()
    model = tiny_bert().train()
    batch, targets = pack(bank_of(LENGTHS), np.array([4, 0, 3, 1]))
    eager_logits, _ = packed_step(model, batch, targets)
    calls = []

    def broken_backend(graph: torch.fx.GraphModule, inputs: Any) -> Any:
        calls.append(graph)
        raise RuntimeError("no compiler on this machine")

    compiled = CompiledPackedLayer(backend=broken_backend)

    def step() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return packed_step(model, batch, targets, layer_forward=compiled)

    logits, _ = compiled.run(step)

    assert calls and not compiled.active
    torch.testing.assert_close(logits, eager_logits)
    compiled.run(step)
    assert len(calls) == 1  # later steps stay eager: no second compile
    torch._dynamo.reset()


def test_frozen_word_embeddings_get_no_gradient_and_the_rest_the_same_ones() -> None:
    """`SpeedLevers.frozen_word_embeddings`: the word-embedding matrix drops out of the
    gradients (so out of AdamW's state and update); every other weight's gradient is as before."""
    model = tiny_bert().train()
    batch, targets = pack(bank_of(LENGTHS), np.array([0, 1, 2, 5]))
    _, trained = packed_step(model, batch, targets)

    freeze_word_embeddings(model)
    _, frozen = packed_step(model, batch, targets)

    word_embeddings = "bert.embeddings.word_embeddings.weight"
    assert word_embeddings in trained and word_embeddings not in frozen
    assert "bert.embeddings.position_embeddings.weight" in frozen
    assert frozen.keys() == trained.keys() - {word_embeddings}
    for name, gradient in frozen.items():
        torch.testing.assert_close(gradient, trained[name], msg=name)


def test_the_loops_packed_steps_leave_the_word_embeddings_as_they_were(
    tiny_base_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`SpeedLevers.frozen_word_embeddings`, on by default: the packed loop gives AdamW no
    word-embedding matrix, which ends training unchanged while the other weights move."""
    from custom_classifier.training import packing
    from custom_classifier.training.backbones import load_base_model
    from custom_classifier.training.loop import TrainingLoop

    labels = ["sport", "finance"]
    documents = make_topic_documents(dict.fromkeys(labels, 4), words=12, seed=3)
    args = TrainingArguments(epochs=1, batch_size=4, max_length=32, mixed_precision=False)
    tokenizer, model = load_base_model(str(tiny_base_model), labels, attention_dropout=0.0)
    train = encode_documents(tokenizer, documents, labels, args)
    none = encode_documents(tokenizer, [], labels, args)
    monkeypatch.setattr(packing, "why_not_packed", lambda *_, **__: None)
    monkeypatch.setattr(packing, "flash_varlen_attention", segment_attention)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    loop = TrainingLoop(model, tokenizer, args, train, none, labels)
    loop.run(None)

    embeddings = model.get_input_embeddings().weight
    optimized = {id(p) for group in loop.optimizer.param_groups for p in group["params"]}
    assert loop.packed and id(embeddings) not in optimized
    after = dict(model.named_parameters())
    for name, weight in before.items():
        unchanged = torch.equal(after[name], weight)
        assert unchanged == (after[name] is embeddings), name
