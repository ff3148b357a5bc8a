"""Releasing freed memory between a training's phases."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref

import pytest

from custom_classifier.training import memory


class _Node:
    def __init__(self) -> None:
        self.partner: _Node | None = None


def test_objects_held_only_by_a_reference_cycle_are_freed() -> None:
    gc.disable()  # so that only the call under test may collect
    try:
        first, second = _Node(), _Node()
        first.partner, second.partner = second, first
        watched = weakref.ref(first)
        del first, second
        assert watched() is not None
        memory.release_freed_memory()
        assert watched() is None
    finally:
        gc.enable()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_on_linux_glibc_the_heap_is_trimmed() -> None:
    assert memory._glibc() is not None


# A 4 MiB block freed below a live small one, after an 8 MiB block freed has raised glibc's
# dynamic mmap threshold: resident KiB still held once it is freed.
_HELD_AFTER_FREE = textwrap.dedent(
    """
    import ctypes, sys
    from custom_classifier.training import memory
    if sys.argv[1] == "unmap":
        assert memory.unmap_large_blocks_on_free()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    def resident_kib():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4
    def touched(size):
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        return block
    libc.free(touched(8 << 20))
    block = touched(4 << 20)
    pinned = touched(64)
    before = resident_kib()
    libc.free(block)
    print(before - resident_kib())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize(("mode", "returned"), [("unmap", True), ("default", False)])
def test_with_large_blocks_unmapped_a_freed_block_goes_back_to_the_system(
    mode: str, returned: bool
) -> None:
    environment = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    freed_kib = subprocess.run(
        [sys.executable, "-c", _HELD_AFTER_FREE, mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (int(freed_kib) > 2048) is returned  # half the block: resident counts lag a little


def test_without_glibc_nothing_is_set_or_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    assert memory.unmap_large_blocks_on_free() is False
    memory.trim_heap()  # no error


def test_trimming_the_heap_alone_collects_nothing() -> None:
    gc.disable()
    try:
        first, second = _Node(), _Node()
        first.partner, second.partner = second, first
        watched = weakref.ref(first)
        del first, second
        memory.trim_heap()
        assert watched() is not None
    finally:
        gc.enable()


def test_objects_exempted_from_collections_stay_and_later_ones_are_collected() -> None:
    gc.disable()
    try:
        early = _cycle()
        memory.exempt_from_collections()
        later = _cycle()
        memory.release_freed_memory()
        assert early() is not None and later() is None
    finally:
        gc.unfreeze()
        gc.enable()


def _cycle() -> weakref.ref[_Node]:
    """A weak reference to one of two nodes held only by their reference cycle."""
    first, second = _Node(), _Node()
    first.partner, second.partner = second, first
    return weakref.ref(first)
