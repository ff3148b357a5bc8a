"""Nested label folders: a label is a path of folders (`sport/football`), and a request picks
the level of the tree that becomes the classifier's labels.

`sport/football/...` and `sport/tennis/...` form a tree. Flat (the default), each requested
folder is one label and everything below it counts for it, as always. At `depth` k the labels
are the folders k levels down (a folder with no sub-folders above that level stays a label);
`hierarchical` trains the deepest folders (or those at `depth`) and predicts the whole path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from custom_classifier.corpus.models import LabelNode, Problem
from custom_classifier.errors import InvalidRequestError
from custom_classifier.limits import MAX_LABEL_DEPTH

SEPARATOR = "/"


@dataclass(frozen=True)
class Levels:
    """Which level of the label tree is trained; the default reads the labels flat."""

    depth: int | None = None
    """1: the top-level folders; 2: their sub-folders; ... None: the requested folders (flat),
    or with `hierarchical` the deepest folders."""
    hierarchical: bool = False
    """Train the deepest folders (or those at `depth`) and predict the path with a score per
    level, a parent's score being the sum of its children's."""

    def __post_init__(self) -> None:
        depth = self.depth
        if depth is not None and (
            isinstance(depth, bool)
            or not isinstance(depth, int)
            or not 1 <= depth <= MAX_LABEL_DEPTH
        ):
            raise InvalidRequestError(
                f"depth must be a whole number from 1 to {MAX_LABEL_DEPTH}; got {depth!r}. "
                "Give 1 for the top-level folders, 2 for their sub-folders, or leave it out.",
                details={"field": "depth"},
            )
        if not isinstance(self.hierarchical, bool):
            raise InvalidRequestError(
                f"hierarchical must be true or false; got {self.hierarchical!r}",
                details={"field": "hierarchical"},
            )

    @property
    def flat(self) -> bool:
        """Each requested folder is one label, as before nested labels existed."""
        return self.depth is None and not self.hierarchical

    @property
    def deepest(self) -> int:
        """The level of the labels trained at most."""
        return self.depth or MAX_LABEL_DEPTH

    def describe(self) -> str:
        if self.flat:
            return "the requested folders"
        level = f"level {self.depth}" if self.depth else "the deepest level"
        return f"{level}{', hierarchical' if self.hierarchical else ''}"


@dataclass
class Classes:
    """The requested labels mapped to the labels trained."""

    expanded: dict[str, list[str]] = field(default_factory=dict)
    """Each requested label -> the labels it gives (itself when flat)."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Folders above the level trained -> files directly in them, which no label can take."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [label for labels in self.expanded.values() for label in labels]


def level_of(label: str) -> int:
    """1 for `sport`, 2 for `sport/football`."""
    return len(label.split(SEPARATOR))


def label_folder(root: Path, label: str) -> Path | None:
    """The visible folder inside `root` that the label path names, or None (a hidden or empty
    part, `..`, a missing folder, a link leading outside)."""
    parts = label.split(SEPARATOR)
    if any(not part or part.startswith(".") or "\\" in part or "\x00" in part for part in parts):
        return None
    folder = root.joinpath(*parts)
    try:
        real = folder.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a name no file system takes
        return None
    if not folder.is_dir() or not (real == root or real.is_relative_to(root)):
        return None
    return folder


def expand_labels(root: Path, labels: Sequence[str], levels: Levels) -> Classes:
    """The labels trained for the requested (existing) label folders at `levels`."""
    classes = Classes()
    for label in labels:
        if levels.flat:
            classes.expanded[label] = [label]
        elif level_of(label) > levels.deepest:
            classes.expanded[label] = []
            classes.problems.append(_below_depth(label, levels.deepest))
        else:
            classes.expanded[label] = _expand(root, label, levels.deepest, classes.left_out)
    classes.problems += _overlaps(list(classes.expanded))
    return classes


def _expand(root: Path, label: str, depth: int, left_out: dict[str, int]) -> list[str]:
    if level_of(label) >= depth:
        return [label]
    children, files = _sub_folders(root, label)
    if not children:
        return [label]
    if files:
        left_out[label] = files
    return [leaf for child in children for leaf in _expand(root, child, depth, left_out)]


def _sub_folders(root: Path, label: str) -> tuple[list[str], int]:
    """The label paths of the visible sub-folders (links staying inside `root`) and the number
    of visible files directly in the folder."""
    folder = root / label
    children, files = [], 0
    try:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda entry: entry.name):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir() and label_folder(root, f"{label}{SEPARATOR}{entry.name}"):
                    children.append(f"{label}{SEPARATOR}{entry.name}")
                elif entry.is_file():
                    files += 1
    except OSError:
        return [], 0
    return children, files


def _below_depth(label: str, depth: int) -> Problem:
    parent = SEPARATOR.join(label.split(SEPARATOR)[:depth])
    return Problem(
        "label_below_depth",
        f"label '{label}' is at level {level_of(label)}, below the level trained ({depth}); "
        f"name its ancestor '{parent}' instead, or train at depth {level_of(label)}.",
        label,
    )


def _overlaps(labels: list[str]) -> list[Problem]:
    """A requested folder inside another requested one would count its documents twice."""
    return [
        Problem(
            "overlapping_labels",
            f"label '{inner}' is inside label '{outer}', whose documents already include it; "
            "name only one of the two.",
            inner,
        )
        for inner in labels
        for outer in labels
        if inner.startswith(outer + SEPARATOR)
    ]


def build_tree(
    file_ids: Sequence[str], used_ids: Sequence[str], classes: Classes, max_nodes: int
) -> list[LabelNode]:
    """The folders of the files read, with the files found and used below each; the labels
    trained are marked. Levels under the trained labels are dropped when there are more than
    `max_nodes` folders."""
    nodes: dict[str, LabelNode] = {}

    def node(path: str) -> LabelNode:
        if path not in nodes:
            nodes[path] = LabelNode(label=path, name=path.rsplit(SEPARATOR, 1)[-1])
        return nodes[path]

    for label in classes.labels:
        for prefix in _prefixes(label):
            node(prefix)
        nodes[label].trained = True
    for counted, ids in (("documents", file_ids), ("used", used_ids)):
        for doc_id in ids:
            for prefix in _prefixes(doc_id)[:-1][:MAX_LABEL_DEPTH]:
                setattr(node(prefix), counted, getattr(node(prefix), counted) + 1)
    for folder, files in classes.left_out.items():
        node(folder).left_out = files
        for prefix in _prefixes(folder):
            node(prefix).documents += files
    if len(nodes) > max_nodes:
        nodes = {path: n for path, n in nodes.items() if not _below_trained(path, nodes)}
    return _assemble(nodes)


def _prefixes(path: str) -> list[str]:
    parts = path.split(SEPARATOR)
    return [SEPARATOR.join(parts[:end]) for end in range(1, len(parts) + 1)]


def _below_trained(path: str, nodes: dict[str, LabelNode]) -> bool:
    return any(nodes[prefix].trained for prefix in _prefixes(path)[:-1] if prefix in nodes)


def _assemble(nodes: dict[str, LabelNode]) -> list[LabelNode]:
    roots: list[LabelNode] = []
    for path in sorted(nodes):
        parent = path.rpartition(SEPARATOR)[0]
        (nodes[parent].children if parent in nodes else roots).append(nodes[path])
    return roots
