"""What scoring one 512-token window on a GPU is made of: eager forwards (fp32, bf16 autocast,
bf16 weights), the forward replayed as a CUDA graph in bf16 and fp16 under each attention
kernel (given no mask, as the product captures, and with the mask transformers 5.17 builds in a
capture), and the kernels of one eager bf16 forward.

    python3 -m benchmarks.predict_gpu_scoring

Same model as `benchmarks.predict_gpu` (the BBC classifier `benchmarks.train_gpu` leaves in
/tmp/cc-bbc-model, else the base model with a fresh head). Each graph is timed two ways, median
of 200 replays: GPU time between CUDA events, and host time up to a synchronization (what a
request waits). Labels of BBC's every fifth document from eager bf16 and fp16 weights are
compared with eager fp32's. Prints one JSON line, then the kernel table.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from benchmarks.gpu_common import cuda_median_ms, read_bbc
from benchmarks.predict_gpu import SAVED_MODEL, WINDOW, load

REPLAYS = 200
BACKENDS = ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH")


def event_median_ms(fn: Any, repeats: int = REPLAYS) -> float:
    """Median GPU milliseconds of `fn` between two CUDA events."""
    import torch

    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def captured(model: Any, ids: Any, backend: Any, *, unmasked: bool) -> tuple[Any, Any]:
    """A CUDA graph of `model`'s forward on `ids` under one attention kernel (`unmasked`: with
    `unmasked_attention`, as the product captures), and its logits."""
    from contextlib import nullcontext

    import torch
    from torch.nn.attention import sdpa_kernel

    from custom_classifier.inference.window_scorers import unmasked_attention

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    masking = unmasked_attention(model) if unmasked else nullcontext()
    with torch.inference_mode(), sdpa_kernel([backend]), masking:
        with torch.cuda.stream(stream):
            for _ in range(3):
                model(input_ids=ids)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logits = model(input_ids=ids).logits.float()
    return graph, logits


def labels_of(model: Any, tokenizer: Any, texts: list[str]) -> Any:
    import numpy as np
    import torch

    rows = []
    for start in range(0, len(texts), 32):
        inputs = tokenizer(
            texts[start : start + 32],
            truncation=True,
            max_length=WINDOW,
            padding=True,
            return_tensors="pt",
        ).to("cuda")
        with torch.inference_mode():
            rows.append(model(**inputs).logits.float().argmax(1).cpu().numpy())
    return np.concatenate(rows)


def kernel_table(model: Any, ids: Any) -> tuple[dict[str, float], str]:
    """Kernel count and summed GPU time of one eager forward (flash attention), and the table."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        model(input_ids=ids)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            model(input_ids=ids)
            torch.cuda.synchronize()
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    summary = {
        "eager_bf16_kernels": float(len(kernels)),
        "eager_bf16_kernel_ms": sum(e.time_range.elapsed_us() for e in kernels) / 1000,
    }
    table = prof.key_averages().table(sort_by="self_device_time_total", row_limit=20)
    return summary, table


def main() -> None:
    import torch
    from torch.nn.attention import SDPBackend
    from transformers import AutoTokenizer

    from benchmarks.gpu_common import base_model

    documents, labels = read_bbc()
    texts = [d.text for d in documents]
    path = str(SAVED_MODEL) if SAVED_MODEL.is_dir() else base_model()
    tokenizer = AutoTokenizer.from_pretrained(path)
    long_text = next(
        t
        for t in texts
        if len(tokenizer(t, truncation=True, max_length=WINDOW)["input_ids"]) == WINDOW
    )
    ids = tokenizer([long_text], truncation=True, max_length=WINDOW, return_tensors="pt")
    ids = ids["input_ids"].cuda()
    fp32 = load(path, labels).cuda().eval()
    with torch.inference_mode():
        reference = fp32(input_ids=ids).logits.float()
    test = texts[::5]
    reference_labels = labels_of(fp32, tokenizer, test)

    results: dict[str, float] = {}
    with torch.inference_mode():
        results["eager_fp32_ms"] = cuda_median_ms(lambda: fp32(input_ids=ids).logits, 50)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            results["eager_autocast_ms"] = cuda_median_ms(lambda: fp32(input_ids=ids).logits, 50)
    table = "no kernel table"
    for dtype_name, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        model = load(path, labels).cuda().eval().to(dtype)
        agreement = (labels_of(model, tokenizer, test) == reference_labels).mean()
        results[f"{dtype_name}_labels_equal_fp32"] = float(agreement)
        with torch.inference_mode():
            eager_ms = cuda_median_ms(lambda m=model: m(input_ids=ids).logits, 50)
        results[f"eager_{dtype_name}_weights_ms"] = eager_ms
        variants = [(getattr(SDPBackend, name), True) for name in BACKENDS]
        variants.append((SDPBackend.MATH, False))
        for backend, unmasked in variants:
            masked = "" if unmasked else "_masked"
            name = f"graph_{dtype_name}_{backend.name.lower()}{masked}"
            try:
                graph, logits = captured(model, ids, backend, unmasked=unmasked)
            except RuntimeError as error:
                print(f"{name}: capture failed: {type(error).__name__}: {error}")
                continue
            results[f"{name}_gpu_ms"] = event_median_ms(graph.replay)
            results[f"{name}_host_ms"] = cuda_median_ms(graph.replay, REPLAYS)
            graph.replay()
            results[f"{name}_max_abs_logit_diff"] = float((logits - reference).abs().max())
        if dtype is torch.bfloat16:
            try:
                summary, table = kernel_table(model, ids)
                results |= summary
            except Exception as error:  # report and go on: the profiler may lack CUPTI there
                print(f"profiling failed: {type(error).__name__}: {error}")
        del model
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))
    print(table)
    print(f"model {path}, {torch.cuda.get_device_name()}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
