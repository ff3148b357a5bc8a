"""Giving a training's freed memory back to the operating system.

PyTorch frees a step's activations, the optimizer's state or a finished model to the C
allocator, which keeps most of it: glibc's malloc only returns the top of its heaps, and
tensors of many sizes (length-bucketed batches) leave free holes below live small objects.
Two remedies: `unmap_large_blocks_on_free`, at the start of a CPU training, has glibc serve
every large block (a step's activations) by its own mapping, which goes back to the system as
soon as it is freed, so the heap's holes do not grow with the steps; `release_freed_memory`
collects Python's reference cycles (a training loop and its optimizer form some) and asks glibc
to return every free page, so the next phase (the int8 export, the test predictions) starts
from what is really in use rather than from the last phase's peak.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import sys

MMAP_THRESHOLD_BYTES = 256 * 1024
"""Blocks of this size or more get their own mapping: a 16 x 512 step's activations are
megabytes each, Python's and the tokenizer's objects far smaller."""

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def release_freed_memory() -> None:
    """Collect unreachable objects, then return the C heap's free pages to the system. The
    collection walks every object of the process (about 0.25 s once torch, transformers and
    MLflow are imported): for the ends of phases, which drop whole object graphs."""
    gc.collect()
    trim_heap()


def exempt_from_collections() -> None:
    """Leave every object alive now out of later garbage collections (`gc.freeze`): for a
    process that has imported what its jobs use, whose modules live as long as it does. On the
    H200 host a full collection then walks only what was made since, instead of 0.25 s over
    torch's, transformers', MLflow's and sklearn's objects (on this 2-core CPU, 2.0 s over 556k
    objects before, under 1 ms after). Frozen objects are still freed when their last
    reference goes; only a reference cycle among them is never collected."""
    gc.freeze()


def trim_heap() -> None:
    """Return the C heap's free pages to the system (under a millisecond): what a step's freed
    activations left, which reference counting already gave back to the allocator."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(ctypes.c_size_t(0))


def unmap_large_blocks_on_free() -> bool:
    """Have glibc map each block of `MMAP_THRESHOLD_BYTES` or more on its own and unmap it when
    it is freed, for the rest of the process; False where the C library is not glibc.

    glibc does so by default only up to a threshold that rises with each large block freed (up
    to 32 MB), after which a training step's activations come from the heap and leave holes
    there, so that the resident memory grows with the steps (BENCHMARKS.md, training memory).
    Setting the threshold also stops it rising. It still pays with micro-batches of 4,096
    tokens: glibc's default and a fixed 32 MiB held 2.1 GB between BBC steps after two steps,
    256 KiB 0.88 GB, though their steps ran about a quarter faster (no page faults)."""
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, or None elsewhere (macOS, musl: their allocators differ)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    libc.malloc_trim.restype = ctypes.c_int
    libc.mallopt.restype = ctypes.c_int
    return libc
