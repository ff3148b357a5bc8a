"""The process group seen from one training process: rank, device, shards and agreements.

Without `torch.distributed` initialised (one process), every function here is the identity.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from custom_classifier.inference.text_classifier import default_device


def process_group() -> tuple[int, int]:
    """(rank, world size) under `torch.distributed` (torchrun, a spawned group); else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def process_device(world: int) -> torch.device:
    """This process's GPU under data-parallel training (`LOCAL_RANK`); else the default device."""
    if world > 1 and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return default_device()


def shard_batches(batches: list[np.ndarray], rank: int, world: int) -> list[np.ndarray]:
    """This process's share of an epoch's batches; every process gets as many (some repeat),
    so that the gradient all-reduce of each step has a partner on every process."""
    if world == 1:
        return batches
    mine = batches[rank::world]
    needed = -(-len(batches) // world)
    return (mine + mine[: needed - len(mine)]) if mine else batches[:needed]


def wrap_model(model: torch.nn.Module, device: torch.device, world: int) -> torch.nn.Module:
    """The module that trains: `model` itself, or its DistributedDataParallel wrapper."""
    if world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def any_process_stops(stop: bool, device: torch.device, world: int) -> bool:
    """True on every process when any one says stop (an all-reduce at the same step).

    Only rank 0 hears the caller; every rank learns it at the same step, so no rank is left
    waiting in a collective for one that has stopped.
    """
    if world == 1:
        return stop
    flag = torch.tensor(float(stop), device=device)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item())


def rank_zero_metrics(metrics: dict[str, float], world: int) -> dict[str, float]:
    """Rank 0's epoch metrics on every rank, so all make the same early-stopping choice."""
    if world == 1:
        return metrics
    shared = [metrics]
    torch.distributed.broadcast_object_list(shared, src=0)
    return shared[0]


def wait_for_every_process(world: int) -> None:
    """A barrier: what rank 0 wrote is complete for every process."""
    if world > 1:
        torch.distributed.barrier()
