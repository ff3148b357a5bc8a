"""Compiled decoder layers (`SpeedLevers.compiled_layers`): the same training step as eager
layers, and back to eager layers when compiling fails. On the CPU with the `aot_eager` backend
(traced and split into forward and backward like inductor's input, without its C++ compile)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from custom_classifier.training import backbones, compiled_layers
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.compiled_layers import (
    CompiledLayers,
    CompiledPackedLayer,
    repeated_layers,
)

LABELS = ["sport", "tech"]


@pytest.fixture(autouse=True)
def fresh_compiler() -> Iterator[None]:
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def lora_model(folder: Path) -> Any:
    _, model = backbones.load_base_model(str(folder), LABELS)
    torch.manual_seed(0)
    return backbones.add_lora_adapters(model, TrainingArguments(lora_dropout=0.0))


def training_step(model: Any, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    targets = torch.arange(len(ids)) % len(LABELS)
    loss = torch.nn.functional.cross_entropy(model(input_ids=ids).logits, targets)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters() if p.requires_grad and p.grad is not None]
    return loss.detach(), grads


def test_compiled_layers_train_as_the_eager_ones_on_every_batch_shape(tiny_decoder: Path) -> None:
    model = lora_model(tiny_decoder)
    shapes = [torch.randint(3, 20, (4, 16)), torch.randint(3, 20, (3, 24))]
    eager = [training_step(model, ids) for ids in shapes]

    compiled = CompiledLayers(model, backend="aot_eager")
    steps = [compiled.run(training_step, model, ids) for ids in shapes]

    layers = repeated_layers(model)
    assert len(layers) == 2 and compiled.active
    assert "forward" not in vars(layers[0]) and "forward" in vars(layers[1])
    for (eager_loss, eager_grads), (loss, grads) in zip(eager, steps, strict=True):
        torch.testing.assert_close(loss, eager_loss)
        assert len(grads) == len(eager_grads)
        for grad, eager_grad in zip(grads, eager_grads, strict=True):
            torch.testing.assert_close(grad, eager_grad, rtol=1e-4, atol=1e-6)


def test_a_compile_that_fails_leaves_the_step_to_eager_layers(tiny_llama: Path) -> None:
    model = lora_model(tiny_llama)
    ids = torch.randint(3, 20, (4, 16))
    eager_loss, _ = training_step(model, ids)
    calls = []

    def broken_backend(graph: torch.fx.GraphModule, inputs: Any) -> Any:
        calls.append(graph)
        raise RuntimeError("no compiler on this machine")

    compiled = CompiledLayers(model, backend=broken_backend)
    assert compiled.active
    loss, _ = compiled.run(training_step, model, ids)

    assert calls, "the compiled layers were never called"
    torch.testing.assert_close(loss, eager_loss)
    assert not compiled.active
    assert not any("forward" in vars(layer) for layer in repeated_layers(model))
    compiled.run(training_step, model, ids)  # later steps stay eager: no second compile
    assert len(calls) == 1


@pytest.mark.parametrize("gpu_levers", [False, True], ids=["plain", "gpu-levers"])
def test_the_layers_share_one_compiled_graph_when_the_step_builds_no_cache(
    gpu_levers: bool,
) -> None:
    """A decoder's key-value cache (built in training by transformers 5.17) differs per layer,
    so each layer compiled on its own (on one H200: 108 s, and past Dynamo's recompile limit the
    rest stayed eager); the training step's forward options turn it off. The GPU levers' fused
    forwards (norms, adapters) must not tell the layers apart either: per-norm forward objects
    did, on one H200 (BENCHMARKS.md, third round). As on a GPU: frozen weights in bf16 under bf16
    autocast without its cache, adapters with dropout, and a first batch as wide as the head
    size (Dynamo's duck sizing fixed the width then, and the next width compiled again)."""
    model, options = tiny_qwen3_with_lora(gpu_levers, head_dim=16)
    graphs: list[torch.fx.GraphModule] = []

    def counting_backend(graph: torch.fx.GraphModule, inputs: Any) -> Any:
        graphs.append(graph)
        return graph.forward

    compiled = CompiledLayers(model, backend=counting_backend)
    for rows, width in [(4, 16), (3, 24), (4, 32)]:
        ids = torch.randint(1, 50, (rows, width))
        compiled.run(lambda ids=ids: bf16_step(model, ids, options))
    with torch.no_grad(), compiled.running_eagerly():  # validation compiles nothing
        bf16_step(model, torch.randint(1, 50, (2, 16)), options)

    assert options == {"use_cache": False}
    assert len(compiled.layers) == 4 and len(graphs) == 1


def test_a_compiled_packed_layer_also_has_validation_run_eagerly() -> None:
    """Its `eager` attribute (the eager layer function) must not hide the context."""
    compiled = CompiledPackedLayer(backend="aot_eager")
    with compiled.running_eagerly():
        assert torch.compiler.is_compiling() is False
    assert compiled.active


def test_nothing_compiles_while_a_cuda_graph_captures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code whose guards fail inside a capture runs eagerly: on one H200 a layer compiled again
    inside a capture broke it and left the CUDA random generator unusable."""
    model, options = tiny_qwen3_with_lora(True, head_dim=8)
    graphs: list[torch.fx.GraphModule] = []

    def counting_backend(graph: torch.fx.GraphModule, inputs: Any) -> Any:
        graphs.append(graph)
        return graph.forward

    compiled = CompiledLayers(model, backend=counting_backend)
    ids = torch.randint(1, 50, (4, 16))
    compiled.run(lambda: bf16_step(model, ids, options))
    monkeypatch.setattr(compiled_layers, "_capturing", lambda: True)
    with torch.no_grad():  # fails the compiled graph's guards
        compiled.run(lambda: bf16_step(model, ids, options))
    compiled.run(lambda: bf16_step(model, ids, options))  # the compiled graph still runs

    assert len(graphs) == 1 and compiled.active


def test_a_captured_step_finds_the_graph_its_eager_step_compiled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The training step's attention context makes a capture's forward the eager step's: on one
    H200 the capture built a causal mask (transformers 5.17), the layers' guards failed there
    and the captured steps replayed eager layers (no inductor kernel in their profile)."""
    import transformers.utils.import_utils

    from custom_classifier.training.chunking import unmasked_attention

    model, options = tiny_qwen3_with_lora(True, head_dim=8)
    graphs: list[torch.fx.GraphModule] = []

    def counting_backend(graph: torch.fx.GraphModule, inputs: Any) -> Any:
        graphs.append(graph)
        return graph.forward

    compiled = CompiledLayers(model, backend=counting_backend)
    ids = torch.randint(1, 50, (4, 16))

    def step() -> None:
        with unmasked_attention(model, causal=True):
            bf16_step(model, ids, options)

    compiled.run(step)
    monkeypatch.setattr(transformers.utils.import_utils, "is_cuda_stream_capturing", lambda: True)
    compiled.run(step)  # as transformers sees a capture

    assert len(graphs) == 1


def tiny_qwen3_with_lora(gpu_levers: bool, head_dim: int) -> tuple[Any, dict[str, Any]]:
    """A 5-layer Qwen3 classifier with bf16 frozen weights and float32 LoRA adapters (dropout
    0.05), as `fine_tune` trains one on a GPU; with the GPU levers' forwards if `gpu_levers`."""
    from transformers import Qwen3Config, Qwen3ForSequenceClassification

    from custom_classifier.training.step_graphs import SpeedLevers

    config = Qwen3Config(
        vocab_size=50,
        hidden_size=40,
        intermediate_size=64,
        num_hidden_layers=5,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=head_dim,
        pad_token_id=0,
        num_labels=2,
    )
    torch.manual_seed(0)
    model = Qwen3ForSequenceClassification(config).to(torch.bfloat16)
    model = backbones.add_lora_adapters(model, TrainingArguments(lora_dropout=0.05))
    if gpu_levers:
        backbones.speed_up_for_gpu(model, SpeedLevers())
    return model, backbones.training_forward_options(config)


def bf16_step(model: Any, ids: torch.Tensor, options: dict[str, Any]) -> None:
    """A forward under bf16 autocast without its cache (as a captured step), and its backward
    where gradients are on."""
    with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False):
        logits = model(input_ids=ids, **options).logits
    if logits.requires_grad:
        logits.float().sum().backward()


def test_an_encoder_has_its_layers_found_too(tiny_base_model: Path) -> None:
    _, model = backbones.load_base_model(str(tiny_base_model), LABELS)
    layers = repeated_layers(model)
    assert len(layers) == model.config.num_hidden_layers
    assert {type(layer).__name__ for layer in layers} == {"BertLayer"}
    assert backbones.training_forward_options(model.config) == {}
