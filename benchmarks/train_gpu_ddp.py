"""Data-parallel training on the GPUs of one host: the same BBC work on 1 and on N GPUs.

    torchrun --nproc_per_node 1 -m benchmarks.train_gpu_ddp
    torchrun --nproc_per_node 2 -m benchmarks.train_gpu_ddp

Each process trains on its share of every epoch's batches (`--batch` windows each, so N times
that per step) and DistributedDataParallel averages the gradients. Prints, from the first
process, the training loop's seconds, non-padding tokens per second and the test macro-F1;
compare the two commands' lines for the scaling.
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4)
    options = parser.parse_args()
    import torch
    import torch.distributed as dist

    from benchmarks.gpu_common import base_model, bbc_split
    from benchmarks.train_gpu import ours, warm_up_cuda

    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank == 0:
        base_model()  # rebuilds the fp32 model once
    dist.barrier()
    model_path = base_model()
    split, labels = bbc_split()
    warm_up_cuda()
    outcome = ours(
        f"ours {world} GPU",
        model_path,
        split,
        labels,
        batch=options.batch,
        lr=options.lr,
        keep_model=False,
    )
    if rank == 0:
        print(json.dumps({"gpus": world, "per_gpu_batch": options.batch, **outcome.to_dict()}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
