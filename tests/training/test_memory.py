"""Releasing freed memory between a training's phases."""

from __future__ import annotations

import gc
import sys
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
    assert memory._malloc_trim() is not None


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
