"""Steady-state training steps of MiniLM at window 512 on one GPU: padded against packed batches.

    python3 -m benchmarks.minilm_step_gpu [--frozen | --levers | --budget]

Full fine-tuning as the training loop does it (bf16 autocast, fused AdamW, gradient clipping,
flash or memory-efficient attention), the mean of 20 steps after 5 warm-up steps, on random token
ids. Windows either all fill 512 tokens, or have BBC's mix of lengths (36% fill the window, the
rest spread uniformly over 100-511 tokens). Padded batches go through `WindowBank.batch` (an
attention mask unless every row is full, widths in multiples of 64) and the model's own forward;
packed ones through `WindowBank.packed` and `packing.packed_logits` (variable-length flash
attention, the query, key and value projections as one matrix product), as the loop's
`SpeedLevers.packed_windows` does; `packed, three QKV products` as first written (three
products); `packed, CUDA graph` as the loop runs it with `cuda_graphs` too: tokens rounded up
to a multiple of 4,096 by filler windows, the whole step replayed as one CUDA graph.
First a check that the packed forward computes the padded forward's function on the GPU: logits
and gradients of one batch, each against a float32 padded reference. `--frozen` adds the
earlier variants with the word embeddings frozen. Prints one JSON line per variant, then a table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.gpu_common import base_model

WINDOW = 512
LABELS = [str(i) for i in range(5)]
FULL_SHARE = 0.36  # of BBC's training windows fill 512 tokens (BENCHMARKS.md)


def window_lengths(count: int, *, mixed: bool, seed: int = 0) -> np.ndarray:
    if not mixed:
        return np.full(count, WINDOW)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(100, WINDOW, size=count)
    lengths[rng.random(count) < FULL_SHARE] = WINDOW
    return lengths


def make_bank(lengths: np.ndarray) -> Any:
    import torch

    from custom_classifier.training.windows import EncodedSplit, WindowBank

    rng = np.random.default_rng(1)
    windows = [rng.integers(1000, 20000, size=int(n)).astype(np.int32) for n in lengths]
    for window in windows:
        window[0] = 101  # [CLS]
    labels = rng.integers(0, len(LABELS), size=len(windows))
    split = EncodedSplit(windows, np.arange(len(windows)), labels)
    return WindowBank(split, pad_id=0, device=torch.device("cuda"))


def load_model(*, frozen_embeddings: bool = False) -> Any:
    import torch

    from custom_classifier.training import backbones

    _, model = backbones.load_base_model(base_model(), LABELS, attention_dropout=0.0)
    model.to(torch.device("cuda"))
    if frozen_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def forward_of(model: Any, bank: Any, variant: str) -> Callable[[], tuple[Any, Any]]:
    """Logits and targets of all the bank's windows as one batch, padded or packed."""
    import torch

    from custom_classifier.training import packing

    rows = np.arange(len(bank.lengths))
    rows_on_device = torch.from_numpy(rows).cuda()
    if variant == "padded":

        def padded() -> tuple[Any, Any]:
            inputs, targets = bank.batch(rows, rows_on_device)
            return model(**inputs).logits, targets

        return padded

    key = bank.packed_key(rows, fixed_shapes=False)

    def packed() -> tuple[Any, Any]:
        batch, targets = bank.packed(rows_on_device, key)
        return packing.packed_logits(model, batch), targets

    return packed


def three_qkv_products(layer: Any, hidden: Any, batch: Any, attention: Any) -> Any:
    """`packing.packed_layer` as first written: query, key and value as three products."""
    heads = layer.attention.self

    def split_heads(projection: Any) -> Any:
        return projection(hidden).view(len(hidden), heads.num_attention_heads, -1)

    query, key, value = (split_heads(p) for p in (heads.query, heads.key, heads.value))
    context = attention(query, key, value, batch.cu_seqlens, batch.max_length)
    attended = layer.attention.output(context.reshape(len(hidden), -1), hidden)
    return layer.output(layer.intermediate(attended), attended)


def step_milliseconds(model: Any, forward: Callable[[], tuple[Any, Any]]) -> float:
    import torch

    from custom_classifier.inference.window_scorers import attention_kernels, autocast_for

    device = torch.device("cuda")
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def step() -> None:
        with autocast_for(device), attention_kernels(device):
            logits, targets = forward()
        loss_fn(logits.float(), targets).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return timed(step)


def graphed_step_milliseconds(model: Any, bank: Any, steps: list[tuple] | None = None) -> float:
    """The packed step as the loop replays it: tokens rounded up by filler windows, the whole
    step (capturable fused AdamW included) one CUDA graph (`step_graphs.StepGraphs`). `steps`:
    the (rows on the device, key) of each step in turn, else all of the bank's rows."""
    import torch

    from custom_classifier.inference.window_scorers import autocast_for
    from custom_classifier.training import packing, step_graphs

    device = torch.device("cuda")
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=torch.tensor(1e-5, device=device), fused=True, capturable=True
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    rows = np.arange(len(bank.lengths))
    steps = steps or [(torch.from_numpy(rows).cuda(), bank.packed_key(rows, fixed_shapes=True))]
    turns = itertools.cycle(steps)

    def device_step(step_rows: Any, step_key: Any) -> Any:
        optimizer.zero_grad(set_to_none=True)
        batch, targets = bank.packed(step_rows, step_key)
        with autocast_for(device, cache=False):
            logits = packing.packed_logits(model, batch)
        loss = loss_fn(logits.float(), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    # A compiled layer compiles in an eager step, never inside a capture.
    graphs = step_graphs.StepGraphs(device_step, device, warm_up_each_shape=True)
    milliseconds = timed(lambda: graphs(*next(turns)))
    if not graphs.graphs:
        raise RuntimeError(f"the packed step was not captured: {graphs.eager_only}")
    return milliseconds


def timed(step: Callable[[], Any]) -> float:
    import torch

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(20):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - started) / 20 * 1000


def relative_error(value: Any, reference: Any) -> float:
    return float((value.float() - reference.float()).norm() / reference.float().norm())


def check_packed_equals_padded() -> dict[str, Any]:
    """Logits and gradients of one mixed-length batch of 32 windows: bf16 padded and bf16 packed,
    each against the float32 padded forward (dropout off)."""
    import torch

    from custom_classifier.inference.window_scorers import attention_kernels, autocast_for

    model = load_model()
    model.eval()  # no dropout: the same function on both sides
    bank = make_bank(window_lengths(32, mixed=True, seed=7))
    device = torch.device("cuda")
    results: dict[str, Any] = {}
    for name, variant, bf16 in [
        ("fp32 padded", "padded", False),
        ("bf16 padded", "padded", True),
        ("bf16 packed", "packed", True),
    ]:
        model.zero_grad(set_to_none=True)
        autocast = autocast_for(device) if bf16 else torch.autocast("cuda", enabled=False)
        with autocast, attention_kernels(device):
            logits, targets = forward_of(model, bank, variant)()
        torch.nn.functional.cross_entropy(logits.float(), targets).backward()
        gradients = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results[name] = (logits.detach().float(), gradients)
    reference_logits, reference_gradients = results.pop("fp32 padded")
    return {
        name: {
            "logits_relative_error": round(relative_error(logits, reference_logits), 5),
            "gradient_relative_error": round(relative_error(gradients, reference_gradients), 5),
            "same_labels": bool(torch.equal(logits.argmax(dim=1), reference_logits.argmax(dim=1))),
        }
        for name, (logits, gradients) in results.items()
    }


def run_variant(name: str, batch: int, *, mixed: bool, variant: str, **model_options: Any) -> dict:
    from custom_classifier.training import packing
    from custom_classifier.training.compiled_layers import CompiledPackedLayer

    bank = make_bank(window_lengths(batch, mixed=mixed))
    model = load_model(**model_options)
    original = packing.packed_layer
    if variant == "packed, three QKV products":
        packing.packed_layer = three_qkv_products
    if "compiled" in variant:
        packing.packed_layer = CompiledPackedLayer()
    try:
        if variant.endswith("CUDA graph"):
            ms = graphed_step_milliseconds(model, bank)
        else:
            forward = forward_of(model, bank, "padded" if variant == "padded" else "packed")
            ms = step_milliseconds(model, forward)
    finally:
        packing.packed_layer = original
    tokens = int(bank.lengths.sum())
    return {
        "name": name,
        "batch": batch,
        "windows": "BBC mix" if mixed else "all 512",
        "variant": variant,
        "non_pad_tokens_per_step": tokens,
        "ms_per_step": round(ms, 2),
        "non_pad_tokens_per_second": round(tokens / ms * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frozen", action="store_true", help="also freeze the word embeddings")
    parser.add_argument(
        "--levers",
        action="store_true",
        help="only packed BBC-mix steps at batch 128 and 256: eager, compiled layers, frozen "
        "word embeddings, each with and without a CUDA graph",
    )
    parser.add_argument(
        "--budget",
        action="store_true",
        help="only packed BBC-mix steps at batch 128 and 256, frozen word embeddings, CUDA "
        "graphs: batches of a window count against token-budget batches",
    )
    options = parser.parse_args()
    import inspect

    import torch

    print(f"device {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    from torch.nn.attention.varlen import varlen_attn

    print(f"varlen_attn{inspect.signature(varlen_attn)}", flush=True)
    print(json.dumps({"packed vs padded, against fp32 padded": check_packed_equals_padded()}))
    rows = []
    if options.budget:
        rows = budget_rows()
        print_table(rows)
        return
    if options.levers:
        rows = lever_rows()
        print_table(rows)
        return
    variants = ("padded", "packed, three QKV products", "packed", "packed, CUDA graph")
    for batch in (64, 128, 256):
        for variant in variants if batch < 256 else ("packed", "packed, CUDA graph"):
            rows.append(run_variant(f"b{batch}", batch, mixed=True, variant=variant))
            print(json.dumps(rows[-1]), flush=True)
    for variant in ("padded", "packed, CUDA graph"):
        rows.append(run_variant("b128 full", 128, mixed=False, variant=variant))
        print(json.dumps(rows[-1]), flush=True)
    if options.frozen:
        for batch in (128, 256):
            rows.append(
                run_variant("frozen", batch, mixed=False, variant="padded", frozen_embeddings=True)
            )
            print(json.dumps(rows[-1]), flush=True)
    print_table(rows)


def lever_rows() -> list[dict]:
    """Packed steps of BBC's mix at batch 128 and 256, each speed lever on and off."""
    rows = []
    for batch in (128, 256):
        for variant in (
            "packed",
            "packed, CUDA graph",
            "packed, compiled",
            "packed, compiled, CUDA graph",
        ):
            rows.append(run_variant(f"b{batch}", batch, mixed=True, variant=variant))
            print(json.dumps(rows[-1]), flush=True)
        for variant in ("packed, frozen word embeddings", "packed, frozen, CUDA graph"):
            rows.append(
                run_variant("frozen", batch, mixed=True, variant=variant, frozen_embeddings=True)
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def budget_rows() -> list[dict]:
    """Packed steps of BBC's mix with frozen word embeddings (the loop's default), one CUDA
    graph each: one batch of a window count against token-budget batches
    (`SpeedLevers.token_budget_batches`), the steps cycling through an epoch of 8 of them."""
    rows = []
    for batch in (128, 256):
        rows.append(
            run_variant(
                "frozen",
                batch,
                mixed=True,
                variant="packed, frozen, CUDA graph",
                frozen_embeddings=True,
            )
        )
        print(json.dumps(rows[-1]), flush=True)
        rows.append(budget_row(batch))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def budget_row(batch: int) -> dict:
    import torch

    from custom_classifier.training.token_batches import TokenBudget

    bank = make_bank(window_lengths(batch * 8, mixed=True))
    budget = TokenBudget.for_windows(bank.lengths, batch)
    plan = budget.plan(bank.lengths, np.random.default_rng(0))
    slots = torch.from_numpy(budget.slot_rows(plan, bank.empty_row)).cuda()
    keys = [budget.key(int(bank.lengths[rows].sum())) for rows in plan]
    steps = list(zip(slots, keys, strict=True))
    ms = graphed_step_milliseconds(load_model(frozen_embeddings=True), bank, steps)
    tokens = round(int(bank.lengths.sum()) / len(plan))
    return {
        "name": "token budget",
        "batch": batch,
        "windows": "BBC mix",
        "variant": f"packed, token budget ({budget.tokens:,} tokens, {budget.slots} slots), "
        "frozen, CUDA graph",
        "non_pad_tokens_per_step": tokens,
        "ms_per_step": round(ms, 2),
        "non_pad_tokens_per_second": round(tokens / ms * 1000),
    }


def print_table(rows: list[dict]) -> None:
    print("| batch | windows | batch as | non-pad tokens/step | ms/step | non-pad tokens/s |")
    for row in rows:
        print(
            f"| {row['batch']} | {row['windows']} | {row['variant']} | "
            f"{row['non_pad_tokens_per_step']:,} | {row['ms_per_step']} | "
            f"{row['non_pad_tokens_per_second']:,} |"
        )


if __name__ == "__main__":
    main()
