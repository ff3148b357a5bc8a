"""The documents read from a labeled folder and the report of what was read."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

# Reasons a document is left out; stable strings shown in reports and the UI.
SKIP_REASONS = (
    "unreadable",
    "empty",
    "too_short",
    "binary",
    "encrypted",
    "unsupported_format",
    "symlink_outside_root",
    "duplicate",
    "conflicting_labels",
)


@dataclass(frozen=True)
class Document:
    """One usable document. `id` is its path relative to the corpus root, POSIX style."""

    id: str
    label: str
    """The label (in multi-label mode, the first of `labels`: the split stratifies by it)."""
    text: str
    labels: tuple[str, ...] = ()
    """Multi-label mode: every label whose folder holds this text, in the request's order."""

    @property
    def label_set(self) -> tuple[str, ...]:
        """The labels this document carries: `labels`, or `(label,)` in single-label mode."""
        return self.labels or (self.label,)

    @property
    def content_hash(self) -> str:
        """sha256 of the text: the same document under another path is the same document."""
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class LabelReport:
    label: str
    found: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass
class LabelNode:
    """A folder of the label tree: the files found and used below it (`corpus.label_tree`)."""

    label: str
    """Its path from the root, `sport/football`: a label when `trained`."""
    name: str
    documents: int = 0
    """Files found below it."""
    used: int = 0
    """Usable documents below it."""
    left_out: int = 0
    """Files directly in it, above the level trained: no label takes them."""
    trained: bool = False
    """One of the labels trained."""
    children: list[LabelNode] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """A reason the data cannot be trained on: what was expected, what was found, how to fix it."""

    code: str
    message: str
    label: str | None = None


@dataclass
class DataReport:
    root: str
    labels: list[LabelReport]
    available_labels: list[str]
    problems: list[Problem] = field(default_factory=list)
    min_docs_per_label: int = 100
    mode: str = "single"
    """The mode the documents were read in: `single` or `multi` (`auto` resolved)."""
    shared_documents: int = 0
    """Documents (distinct texts) found in more than one label folder."""
    mode_note: str | None = None
    """How `auto` chose the mode, in words."""
    depth: int | None = None
    """The level of the label tree trained (`corpus.label_tree.Levels`); None: flat."""
    hierarchical: bool = False
    tree: list[LabelNode] = field(default_factory=list)
    """The folders read, with counts per node."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Corpus:
    """The usable documents of the requested labels, with the report and a content fingerprint."""

    documents: list[Document]
    report: DataReport
    labels: list[str]
    fingerprint: str


@dataclass(frozen=True)
class Split:
    train: list[Document]
    validation: list[Document]
    test: list[Document]

    def ids(self) -> dict[str, list[str]]:
        return {
            "train": [d.id for d in self.train],
            "validation": [d.id for d in self.validation],
            "test": [d.id for d in self.test],
        }

    def test_documents(self) -> TestDocuments:
        """The test documents by content hash, to keep them for the next training, and the
        hashes of the documents the model saw (training and validation)."""
        seen = frozenset(d.content_hash for d in self.train + self.validation)
        return TestDocuments({d.content_hash: d.id for d in self.test}, seen)


@dataclass(frozen=True)
class TestDocuments:
    """A run's test documents: content hash -> path relative to the corpus root. Recorded in
    MLflow (`test_documents.json`) so a later training of the classifier tests on them again."""

    __test__ = False  # not a pytest test class

    paths: dict[str, str]
    seen: frozenset[str] = frozenset()
    """Hashes of the documents the model trained or was validated on: a later training does
    not add them to its test documents while new ones are left, so the champion is not
    re-scored on what it learned from."""

    def to_row(self) -> dict[str, Any]:
        return {
            "documents": [{"sha256": h, "path": p} for h, p in self.paths.items()],
            "seen": sorted(self.seen),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TestDocuments:
        paths = {str(d["sha256"]): str(d["path"]) for d in row.get("documents", [])}
        return cls(paths, frozenset(str(h) for h in row.get("seen", [])))


@dataclass(frozen=True)
class FrozenTest:
    """The test documents of the classifier's champion, which stay test documents when it is
    trained again from a folder that has grown, so the two versions are compared on them."""

    version: int
    documents: TestDocuments
