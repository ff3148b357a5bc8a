"""Data-parallel training through torch.distributed, on the CPU with gloo (2 processes)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from custom_classifier.processes import free_port
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.distributed import shard_batches

LABELS = ["sport", "finance"]


def _worker(rank: int, world: int, base_model: str, output: str, port: int) -> None:
    import torch.distributed as dist

    from custom_classifier.training.trainer import fine_tune
    from factories import make_topic_split

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        args = replace(
            TrainingArguments(),
            epochs=2,
            learning_rate=1e-2,
            batch_size=4,
            max_length=32,
            warmup_ratio=0.0,
            export_onnx=False,
        )
        result = fine_tune(
            base_model, make_topic_split(LABELS, train=10), LABELS, args, Path(output)
        )
        Path(output, f"history{rank}.json").write_text(json.dumps(result.history))
    finally:
        dist.destroy_process_group()


def test_two_processes_train_one_model_in_step(tiny_base_model: Path, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, str(tiny_base_model), str(tmp_path), free_port()), nprocs=2)

    first, second = (json.loads((tmp_path / f"history{r}.json").read_text()) for r in (0, 1))
    # Same validation loss to the last bit: both replicas hold the same weights after each epoch.
    assert [e["val_loss"] for e in first] == [e["val_loss"] for e in second]
    assert (tmp_path / "model" / "model.safetensors").is_file()


def test_shards_give_every_process_as_many_batches() -> None:
    batches = [np.array([i]) for i in range(5)]

    shards = [shard_batches(batches, rank, 2) for rank in (0, 1)]

    assert [len(s) for s in shards] == [3, 3]
    assert sorted(int(b[0]) for s in shards for b in s[:3]) == [0, 1, 1, 2, 3, 4]
    assert shard_batches(batches, 0, 1) is batches
