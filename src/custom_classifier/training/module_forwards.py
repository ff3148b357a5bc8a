"""Modules given another forward through a subclass of their class (one per class and forward).

`torch.compile` guards on what a compiled layer calls. A forward set on each module (a callable
object or a bound method per norm or adapter) is one more object per layer to guard on, so every
decoder layer failed the previous layer's guards and compiled on its own, until Dynamo's
recompile limit left the rest eager (BENCHMARKS.md, decoder LoRA, third round). A subclass
shared by every module of a class is guarded on alike in every layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

_SUBCLASSES: dict[tuple[type, Callable[..., Any]], type] = {}


def replace_forward(module: torch.nn.Module, forward: Callable[..., Any]) -> None:
    """Make `forward(module, ...)` the forward of `module`; its class keeps its name, and the
    original forward stays reachable as `super(type(module), module).forward`."""
    original = type(module)
    if original.forward is forward:
        return
    key = (original, forward)
    if key not in _SUBCLASSES:
        attributes = {"forward": forward, "__module__": original.__module__}
        _SUBCLASSES[key] = type(original.__name__, (original,), attributes)
    module.__class__ = _SUBCLASSES[key]
