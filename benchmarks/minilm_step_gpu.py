"""Steady-state training steps of MiniLM at window 512 on one GPU, by batch, mask and embeddings.

    python3 -m benchmarks.minilm_step_gpu

Full fine-tuning as the training loop does it (bf16 autocast, fused AdamW, gradient clipping,
flash or memory-efficient attention), on random token ids filling every window; the mean of 20 steps
after 5 warm-up steps. Variants: batch 128 and 256, the word embeddings trained
or frozen, and batch 128 with a padding mask (the last 112 positions of every row masked).
Prints one JSON line per variant.
"""

from __future__ import annotations

import json
import time

from benchmarks.gpu_common import base_model

WINDOW = 512
LABELS = [str(i) for i in range(5)]


def step_milliseconds(batch: int, *, frozen_embeddings: bool, masked: bool) -> float:
    import torch

    from custom_classifier.inference.window_scorers import attention_kernels, autocast_for
    from custom_classifier.training import backbones

    device = torch.device("cuda")
    _, model = backbones.load_base_model(base_model(), LABELS, attention_dropout=0.0)
    model.to(device)
    if frozen_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-4, fused=True)
    inputs = {"input_ids": torch.randint(1000, 20000, (batch, WINDOW), device=device)}
    if masked:
        mask = torch.ones_like(inputs["input_ids"])
        mask[:, 400:] = 0
        inputs["attention_mask"] = mask
    targets = torch.randint(0, len(LABELS), (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        with autocast_for(device), attention_kernels(device):
            logits = model(**inputs).logits
        loss_fn(logits.float(), targets).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(20):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - started) / 20 * 1000


def main() -> None:
    variants = [(128, False, False), (256, False, False), (128, True, False), (256, True, False)]
    variants.append((128, False, True))
    for batch, frozen, masked in variants:
        ms = step_milliseconds(batch, frozen_embeddings=frozen, masked=masked)
        row = {"batch": batch, "frozen_embeddings": frozen, "padding_mask": masked}
        row |= {"ms_per_step": round(ms, 2), "tokens_per_second": round(batch * WINDOW / ms * 1000)}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
