"""Prediction on one GPU at window 512: plain PyTorch eager (fp32) against our predictor.

    python3 -m benchmarks.predict_gpu

Uses the BBC classifier that `benchmarks.train_gpu` leaves in /tmp/cc-bbc-model when it ran in
the same call, else the base model with a fresh head (timings hold; label agreement then means
little). Batch-1 latency (one 512-token document: p10, p50 and p90 of 200 calls, the variants
interleaved) and throughput in batches of 32, for: the baseline `model(**inputs)` in fp32; our
`TextClassifier.predict` (tokenization included), also as on main before this round
(`BeforeClassifier`: head windows through the library's pre-tokenizer, graphs captured with a
mask) and with whole texts tokenized (as before `inference.head_window`), each split into
tokenizing and scoring; 200 distinct documents predicted once each (the words
`head_window` remembers growing from none); BBC's longest document (25,484 characters).
`benchmarks.predict_gpu_scoring` takes the scoring apart. Run it as serving runs,
`TOKENIZERS_PARALLELISM=false`.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.gpu_common import (
    base_model,
    cuda_median_ms,
    cuda_times_ms,
    percentiles_ms,
    ratio,
    read_bbc,
)

SAVED_MODEL = Path("/tmp/cc-bbc-model")
WINDOW = 512


def load(path: str, labels: list[str]) -> Any:
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))


def main() -> None:
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from benchmarks.predict_cpu import BeforeClassifier, WholeTextClassifier
    from custom_classifier.inference.text_classifier import TextClassifier, build_windows

    documents, labels = read_bbc()
    texts = [d.text for d in documents]
    path = str(SAVED_MODEL) if SAVED_MODEL.is_dir() else base_model()
    tokenizer = AutoTokenizer.from_pretrained(path)
    long_texts = [
        t
        for t in texts
        if len(tokenizer(t, truncation=True, max_length=WINDOW)["input_ids"]) == WINDOW
    ]
    one = long_texts[:1]
    batch = long_texts[:32]
    model = load(path, labels).cuda().eval()

    def eager(chunk: list[str]) -> np.ndarray:
        inputs = tokenizer(
            chunk, truncation=True, max_length=WINDOW, padding=True, return_tensors="pt"
        ).to("cuda")
        with torch.inference_mode():
            return model(**inputs).logits.float().cpu().numpy()

    results: dict[str, float] = {}
    results["eager_fp32_b1_ms"] = cuda_median_ms(lambda: eager(one), 50)
    results["eager_fp32_b32_docs_per_s"] = 32_000 / cuda_median_ms(lambda: eager(batch), 10)

    folder = path if SAVED_MODEL.is_dir() else _classifier_dir(path, labels)
    classifier = TextClassifier.load(folder)
    before = BeforeClassifier.load(folder)
    whole = WholeTextClassifier.load(folder)

    def whole_text(chunk: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        return build_windows(tokenizer, chunk, max_length=WINDOW, strategy="head", stride=0)

    # Each document predicted once, as a server meets new documents: the words `head_window`
    # remembers grow from none (after one warm-up document outside the set, which captures the
    # graph). The path before this round (`BeforeClassifier`) first.
    distinct = long_texts[1:201]
    spreads: dict[str, dict[str, float]] = {}
    for name, variant in (("before", before), ("ours", classifier)):
        variant.predict(long_texts[-1:])
        times = [cuda_times_ms(partial(variant.predict, [t]), 1, warmup=0)[0] for t in distinct]
        spreads[f"{name}_b1_distinct_docs"] = percentiles_ms(times)
    # The same document again and again, the variants interleaved over 5 rounds.
    windows, _ = classifier.windows(one)
    repeated = {
        "ours_b1": lambda: classifier.predict(one),
        "before_b1": lambda: before.predict(one),
        "whole_text_b1": lambda: whole.predict(one),
        "ours_b1_tokenize": lambda: classifier.windows(one),
        "before_b1_tokenize": lambda: before.windows(one),
        "whole_text_b1_tokenize": lambda: whole_text(one),
        "ours_b1_score": lambda: classifier.window_logits(windows),
        "before_b1_score": lambda: before.window_logits(windows),
    }
    times_of: dict[str, list[float]] = {name: [] for name in repeated}
    for _ in range(5):
        for name, fn in repeated.items():
            times_of[name] += cuda_times_ms(fn, 40)
    spreads |= {name: percentiles_ms(times) for name, times in times_of.items()}
    results.update(
        {
            f"{name}_{key}_ms": value
            for name, spread in spreads.items()
            for key, value in spread.items()
        }
    )
    results["ours_b1_chars"] = len(one[0])
    longest = [max(texts, key=len)]
    results["long_chars"] = len(longest[0])
    results["ours_long_b1_ms"] = cuda_median_ms(lambda: classifier.predict(longest), 50)
    results["before_long_b1_ms"] = cuda_median_ms(lambda: before.predict(longest), 50)
    results["whole_text_long_b1_ms"] = cuda_median_ms(lambda: whole.predict(longest), 20)
    expected = [w.tolist() for w in whole_text(texts)[0]]
    for name, variant in (("ours", classifier), ("before", before)):
        equal = [w.tolist() for w in variant.windows(texts)[0]] == expected
        results[f"{name}_windows_equal_whole_text"] = float(equal)
    results["ours_b32_docs_per_s"] = 32_000 / cuda_median_ms(lambda: classifier.predict(batch), 10)
    results["before_b32_docs_per_s"] = 32_000 / cuda_median_ms(lambda: before.predict(batch), 10)

    test = texts[::5]
    reference_labels = np.concatenate([eager(test[i : i + 32]) for i in range(0, len(test), 32)])
    ours_labels = classifier.predict_proba(test).argmax(axis=1)
    results["label_agreement_with_fp32"] = float((reference_labels.argmax(1) == ours_labels).mean())
    # The one-document path (a graph replay per document) against fp32 as well.
    one_at_a_time = np.array([classifier.predict_proba([text])[0].argmax() for text in test])
    results["ours_b1_labels_equal_fp32"] = float(
        (reference_labels.argmax(1) == one_at_a_time).mean()
    )
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))
    print(
        f"model {path}, backend {classifier.backend}, {torch.cuda.get_device_name()}, torch {torch.__version__}"
    )
    for name in ("ours", "before", "whole_text"):
        print(
            f"batch 1 @512, {name}: p10/p50/p90 {results[f'{name}_b1_p10_ms']:.3f} / "
            f"{results[f'{name}_b1_p50_ms']:.3f} / {results[f'{name}_b1_p90_ms']:.3f} ms, "
            f"tokenizing p50 {results[f'{name}_b1_tokenize_p50_ms']:.3f} ms"
        )
    for name in ("ours", "before"):
        print(
            f"200 distinct documents once each, {name}: p10/p50/p90 "
            f"{results[f'{name}_b1_distinct_docs_p10_ms']:.3f} / "
            f"{results[f'{name}_b1_distinct_docs_p50_ms']:.3f} / "
            f"{results[f'{name}_b1_distinct_docs_p90_ms']:.3f} ms"
        )
    print(
        f"scoring the window p50 {results['ours_b1_score_p50_ms']:.3f} ms (before "
        f"{results['before_b1_score_p50_ms']:.3f} ms); eager fp32 "
        f"{results['eager_fp32_b1_ms']:.2f} ms, speed-up "
        f"{ratio(results['eager_fp32_b1_ms'], results['ours_b1_p50_ms'])}"
    )
    print(
        f"batch 32 @512: ours {results['ours_b32_docs_per_s']:.0f} docs/s, eager fp32 "
        f"{results['eager_fp32_b32_docs_per_s']:.0f} docs/s, ratio "
        f"{ratio(results['ours_b32_docs_per_s'], results['eager_fp32_b32_docs_per_s'])}"
    )


def _classifier_dir(path: str, labels: list[str]) -> str:
    import json as json_module

    target = Path("/tmp/cc-fresh-head")
    model = load(path, labels)
    model.save_pretrained(target)
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(path).save_pretrained(target)
    settings = {"labels": labels, "max_length": WINDOW, "long_document_strategy": "head"}
    (target / "classifier.json").write_text(json_module.dumps(settings))
    return str(target)


if __name__ == "__main__":
    main()
