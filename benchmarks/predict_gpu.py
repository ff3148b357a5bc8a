"""Prediction on one GPU at window 512: plain PyTorch eager (fp32) against our predictor.

    python3 -m benchmarks.predict_gpu

Uses the BBC classifier that `benchmarks.train_gpu` leaves in /tmp/cc-bbc-model when it ran in
the same call, else the base model with a fresh head (timings hold; label agreement then means
little). Batch-1 latency (one 512-token document, median) and throughput in batches of 32, for:
the baseline `model(**inputs)` in fp32; our `TextClassifier.predict` (tokenization included),
also with whole texts tokenized (as before `inference.head_window`) and for BBC's longest
document (25,484 characters); and the forward-only variants behind it (bf16 autocast, bf16
weights, CUDA graph). Run it as serving runs, `TOKENIZERS_PARALLELISM=false`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.gpu_common import base_model, cuda_median_ms, ratio, read_bbc

SAVED_MODEL = Path("/tmp/cc-bbc-model")
WINDOW = 512


def load(path: str, labels: list[str]) -> Any:
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))


def main() -> None:
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from benchmarks.predict_cpu import WholeTextClassifier
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
    before = WholeTextClassifier.load(folder)

    def whole_text(chunk: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        return build_windows(tokenizer, chunk, max_length=WINDOW, strategy="head", stride=0)

    results["ours_b1_ms"] = cuda_median_ms(lambda: classifier.predict(one), 50)
    # Where a one-document request's time goes: tokenizing into windows, then scoring them.
    windows, _ = classifier.windows(one)
    results["ours_b1_tokenize_ms"] = cuda_median_ms(lambda: classifier.windows(one), 50)
    results["ours_b1_score_ms"] = cuda_median_ms(lambda: classifier.window_logits(windows), 50)
    results["ours_b1_chars"] = len(one[0])
    # Before `inference.head_window`: the tokenizer's truncating call on the whole text.
    results["ours_b1_tokenize_whole_text_ms"] = cuda_median_ms(lambda: whole_text(one), 50)
    results["whole_text_b1_ms"] = cuda_median_ms(lambda: before.predict(one), 50)
    longest = [max(texts, key=len)]
    results["long_chars"] = len(longest[0])
    results["ours_long_b1_ms"] = cuda_median_ms(lambda: classifier.predict(longest), 50)
    results["ours_long_tokenize_ms"] = cuda_median_ms(lambda: classifier.windows(longest), 50)
    results["long_tokenize_whole_text_ms"] = cuda_median_ms(lambda: whole_text(longest), 20)
    results["whole_text_long_b1_ms"] = cuda_median_ms(lambda: before.predict(longest), 20)
    ours_windows, _ = classifier.windows(texts)
    results["windows_equal_whole_text"] = float(
        [w.tolist() for w in ours_windows] == [w.tolist() for w in whole_text(texts)[0]]
    )
    results["ours_b32_docs_per_s"] = 32_000 / cuda_median_ms(lambda: classifier.predict(batch), 10)

    ids = tokenizer(one, truncation=True, max_length=WINDOW, return_tensors="pt")["input_ids"]
    ids = ids.cuda()
    with torch.inference_mode():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            results["fwd_autocast_b1_ms"] = cuda_median_ms(lambda: model(input_ids=ids).logits, 50)
        bf16 = load(path, labels).cuda().eval().to(torch.bfloat16)
        results["fwd_bf16_weights_b1_ms"] = cuda_median_ms(lambda: bf16(input_ids=ids).logits, 50)
        results["fwd_fp32_b1_ms"] = cuda_median_ms(lambda: model(input_ids=ids).logits, 50)
    try:
        static = ids.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.inference_mode(), torch.cuda.stream(stream):
            for _ in range(3):
                bf16(input_ids=static)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            out = bf16(input_ids=static).logits
        results["fwd_bf16_cuda_graph_b1_ms"] = cuda_median_ms(graph.replay, 50)
        with torch.inference_mode():
            reference = bf16(input_ids=static).logits
        graph.replay()
        results["cuda_graph_max_abs_diff"] = float((out - reference).abs().max())
    except Exception as exc:  # report and go on: this is an experiment
        print(f"CUDA graph capture failed: {type(exc).__name__}: {exc}")

    test = texts[::5]
    reference_labels = np.concatenate([eager(test[i : i + 32]) for i in range(0, len(test), 32)])
    ours_labels = classifier.predict_proba(test).argmax(axis=1)
    results["label_agreement_with_fp32"] = float((reference_labels.argmax(1) == ours_labels).mean())
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))
    print(
        f"model {path}, backend {classifier.backend}, {torch.cuda.get_device_name()}, torch {torch.__version__}"
    )
    print(
        f"batch 1 @512: ours {results['ours_b1_ms']:.2f} ms, eager fp32 "
        f"{results['eager_fp32_b1_ms']:.2f} ms, speed-up "
        f"{ratio(results['eager_fp32_b1_ms'], results['ours_b1_ms'])}"
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
