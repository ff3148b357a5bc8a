"""The path of a hierarchical prediction: from the top level down to a label, with a score at
each level, a parent's score being the sum of its children's.

A hierarchical classifier's labels are folder paths (`sport/football`, `sport/tennis`,
`business`). Shipped inside the MLflow model with `text_classifier.py`, so it imports nothing of
ours (and no third-party package).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SEPARATOR = "/"


def node_scores(scores: Mapping[str, float], level: int, under: str = "") -> dict[str, float]:
    """The summed scores of the nodes at `level` (1: the top) of the labels below `under`, in
    the order the labels come."""
    summed: dict[str, float] = {}
    for label, score in scores.items():
        if under and not label.startswith(under + SEPARATOR):
            continue
        parts = label.split(SEPARATOR)
        if len(parts) < level:
            continue
        node = SEPARATOR.join(parts[:level])
        summed[node] = summed.get(node, 0.0) + float(score)
    return summed


def label_path(scores: Mapping[str, float]) -> list[dict[str, Any]]:
    """`[{"label": "sport", "score": ...}, {"label": "sport/football", "score": ...}]`: the most
    likely top-level node, then its most likely child, down to a label (ties: the first label)."""
    path: list[dict[str, Any]] = []
    under = ""
    while under not in scores:
        nodes = node_scores(scores, len(path) + 1, under)
        if not nodes:
            break
        under = max(nodes, key=lambda node: nodes[node])
        path.append({"label": under, "score": nodes[under]})
    return path


def max_levels(labels: list[str]) -> int:
    """The levels of the deepest label."""
    return max((len(label.split(SEPARATOR)) for label in labels), default=0)
