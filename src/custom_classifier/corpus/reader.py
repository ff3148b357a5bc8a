"""Read a labeled folder (one sub-folder per label) into documents, a report and its problems."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from custom_classifier.corpus.extract import extract_text
from custom_classifier.corpus.label_tree import Levels, build_tree, expand_labels, label_folder
from custom_classifier.corpus.models import (
    Corpus,
    DataReport,
    Document,
    LabelReport,
    Problem,
)
from custom_classifier.errors import (
    InvalidDatasetError,
    LocationNotFoundError,
    UnreadableDocumentError,
)
from custom_classifier.limits import MAX_TREE_NODES

DEFAULT_MIN_CHARS = 20
AUTO_MULTI_SHARE = 0.01
"""Mode `auto` reads the folder as multi-label when at least this share of its documents
(distinct texts) sits in more than one label folder."""
_PROGRESS_REPORTS = 100
"""`on_read` hears about every hundredth of the files (and the first and the last)."""

Mode = Literal["single", "multi", "auto"]
FLAT = Levels()
"""Each requested folder is a label, everything below it counted for it."""

ReadProgress = Callable[[int, int], None]
"""`on_read(files_read, files_total)`, called while the documents are read."""


@dataclass(frozen=True)
class _Candidate:
    document: Document
    key: str


def list_label_folders(root: Path) -> list[str]:
    """Names of the visible sub-folders of `root`, sorted; a link leading outside is left out."""
    root = _require_folder(root)
    names = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            if entry.is_symlink() and not _is_inside(Path(entry.path).resolve(), root):
                continue
            names.append(entry.name)
    return sorted(names)


def inspect_corpus(
    root: Path,
    labels: Sequence[str],
    *,
    min_docs_per_label: int,
    min_chars: int = DEFAULT_MIN_CHARS,
    on_read: ReadProgress | None = None,
    mode: Mode = "single",
    levels: Levels = FLAT,
) -> Corpus:
    """Read the requested label folders under `root` and report every problem in `report.problems`.

    A label may be a path of nested folders (`sport/football`); `levels` picks the level of the
    label tree trained (`corpus.label_tree`), flat by default: each requested folder is a label.
    Data problems never raise; only a `root` that is not a folder raises `LocationNotFoundError`.
    The files are listed first, so `on_read(read, total)` knows the total from the start.
    A text found under several labels is a conflict, left out, in `single` mode; in `multi`
    mode it is one document carrying all those labels; `auto` picks `multi` when at least
    `AUTO_MULTI_SHARE` of the documents are such texts (`report.mode`, `report.mode_note`).
    """
    root = _require_folder(root)
    available = list_label_folders(root)
    wanted = list(dict.fromkeys(labels))
    missing = [label for label in wanted if label_folder(root, label) is None]
    classes = expand_labels(root, [label for label in wanted if label not in missing], levels)
    trained = [name for label in wanted for name in classes.expanded.get(label, [label])]
    problems = _request_problems(labels, trained, available, missing, levels)
    problems += classes.problems
    reports = {label: LabelReport(label) for label in trained}
    files = {
        label: list(_walk(root, root / label, reports[label], visited=set()))
        for label in classes.labels
    }
    progress = _Progress(sum(len(paths) for paths in files.values()), on_read)
    candidates: list[_Candidate] = []
    for label, paths in files.items():
        candidates += _read_label(root, label, paths, reports[label], min_chars, progress)
    labeling = _assign_labels(candidates, reports, trained, mode)
    documents = labeling.documents
    problems += [
        _too_few_documents(reports[label], min_docs_per_label)
        for label in classes.labels
        if reports[label].used < min_docs_per_label
    ]
    file_ids = [path.relative_to(root).as_posix() for paths in files.values() for path in paths]
    report = DataReport(
        root=str(root),
        labels=list(reports.values()),
        available_labels=available,
        problems=problems,
        min_docs_per_label=min_docs_per_label,
        mode=labeling.mode,
        shared_documents=labeling.shared,
        mode_note=labeling.note,
        depth=levels.depth,
        hierarchical=levels.hierarchical,
        tree=build_tree(file_ids, [doc.id for doc in documents], classes, MAX_TREE_NODES),
    )
    return Corpus(
        documents=documents, report=report, labels=trained, fingerprint=fingerprint(documents)
    )


def load_corpus(
    root: Path,
    labels: Sequence[str],
    *,
    min_docs_per_label: int,
    min_chars: int = DEFAULT_MIN_CHARS,
    on_read: ReadProgress | None = None,
    mode: Mode = "single",
    levels: Levels = FLAT,
) -> Corpus:
    """Like `inspect_corpus`, but raise `InvalidDatasetError` listing every problem found."""
    corpus = inspect_corpus(
        root,
        labels,
        min_docs_per_label=min_docs_per_label,
        min_chars=min_chars,
        on_read=on_read,
        mode=mode,
        levels=levels,
    )
    report = corpus.report
    if report.problems:
        listed = "; ".join(problem.message for problem in report.problems)
        raise InvalidDatasetError(
            f"the labeled folder {report.root} cannot be used for training: {listed}",
            details={"report": report.to_dict()},
        )
    return corpus


def fingerprint(documents: Sequence[Document]) -> str:
    """sha256 over the sorted (label, sha256(text)) pairs: equal for the same labeled texts."""
    pairs = sorted((label, _sha256(doc.text)) for doc in documents for label in doc.label_set)
    digest = hashlib.sha256()
    for label, text_hash in pairs:
        digest.update(f"{label}\t{text_hash}\n".encode())
    return digest.hexdigest()


def _require_folder(root: Path) -> Path:
    resolved = Path(root).expanduser().resolve()
    if not resolved.is_dir():
        raise LocationNotFoundError(
            f"the data location {root} is not a folder; expected a folder with one sub-folder "
            "per label. Check the path.",
            details={"location": str(root)},
        )
    return resolved


def _is_inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def visible_chars(text: str) -> int:
    """Characters that are not whitespace (`str.isspace`, where `str.split` splits): counted
    in C, where a generator over the characters took 0.55 of the 0.92 s BBC's 2,225 files took
    to read on this repo's CPU."""
    return sum(map(len, text.split()))


def _dedup_key(text: str) -> str:
    return _sha256(" ".join(text.split()))


class _Progress:
    def __init__(self, total: int, on_read: ReadProgress | None) -> None:
        self.total, self.read, self._on_read = total, 0, on_read
        self._every = max(1, total // _PROGRESS_REPORTS)
        self._tell()

    def advance(self) -> None:
        self.read += 1
        if self.read % self._every == 0 or self.read == self.total:
            self._tell()

    def _tell(self) -> None:
        if self._on_read is not None:
            self._on_read(self.read, self.total)


def _read_label(
    root: Path,
    label: str,
    paths: list[Path],
    report: LabelReport,
    min_chars: int,
    progress: _Progress,
) -> list[_Candidate]:
    seen: set[str] = set()
    candidates = []
    for path in paths:
        candidate = _read_document(root, label, path, report, min_chars, seen)
        progress.advance()
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def _read_document(
    root: Path, label: str, path: Path, report: LabelReport, min_chars: int, seen: set[str]
) -> _Candidate | None:
    report.found += 1
    try:
        text = extract_text(path)
    except UnreadableDocumentError as exc:
        report.skip(exc.reason)
        return None
    if visible_chars(text) < min_chars:
        report.skip("too_short")
        return None
    key = _dedup_key(text)
    if key in seen:
        report.skip("duplicate")
        return None
    seen.add(key)
    doc_id = path.relative_to(root).as_posix()
    return _Candidate(Document(id=doc_id, label=label, text=text), key)


def _walk(root: Path, folder: Path, report: LabelReport, visited: set[Path]) -> Iterator[Path]:
    """Visible regular files under `folder`, sorted, following links that stay inside `root`."""
    real = folder.resolve()
    if real in visited:  # a link loop
        return
    visited.add(real)
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        report.found += 1
        report.skip("unreadable")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_symlink() and not _is_inside(path.resolve(), root):
            report.found += 1
            report.skip("symlink_outside_root")
        elif entry.is_dir():
            yield from _walk(root, path, report, visited)
        elif entry.is_file():
            yield path
        else:  # a broken link, a FIFO or a device: reading it would fail or block
            report.found += 1
            report.skip("unreadable")


@dataclass(frozen=True)
class _Labeling:
    documents: list[Document]
    mode: str
    shared: int
    note: str | None


def _assign_labels(
    candidates: list[_Candidate], reports: dict[str, LabelReport], wanted: list[str], mode: Mode
) -> _Labeling:
    """The documents in the resolved mode, and how many texts sit under several labels."""
    labels_by_key: dict[str, set[str]] = {}
    for candidate in candidates:
        labels_by_key.setdefault(candidate.key, set()).add(candidate.document.label)
    shared = sum(1 for found in labels_by_key.values() if len(found) > 1)
    note = None
    if mode == "auto":
        share = shared / len(labels_by_key) if labels_by_key else 0.0
        mode = "multi" if labels_by_key and share >= AUTO_MULTI_SHARE else "single"
        note = (
            f"mode auto chose '{mode}': {shared} of {len(labels_by_key)} documents "
            f"({100 * share:.1f} %) sit in more than one label folder; multi-label is chosen "
            f"from {100 * AUTO_MULTI_SHARE:.0f} %"
        )
    if mode == "multi":
        documents = _merge_labels(candidates, reports, labels_by_key, wanted)
    else:
        documents = _drop_conflicts(candidates, reports)
    return _Labeling(documents, mode, shared, note)


def _merge_labels(
    candidates: list[_Candidate],
    reports: dict[str, LabelReport],
    labels_by_key: dict[str, set[str]],
    wanted: list[str],
) -> list[Document]:
    """One document per text, carrying every label whose folder holds it (the first copy's
    path is its id); each label counts it as used."""
    documents = []
    seen: set[str] = set()
    for candidate in candidates:
        reports[candidate.document.label].used += 1
        if candidate.key in seen:
            continue
        seen.add(candidate.key)
        carried = tuple(label for label in wanted if label in labels_by_key[candidate.key])
        document = candidate.document
        documents.append(
            Document(id=document.id, label=carried[0], text=document.text, labels=carried)
        )
    return documents


def _drop_conflicts(
    candidates: list[_Candidate], reports: dict[str, LabelReport]
) -> list[Document]:
    """Leave out texts found under two labels; count them under each label."""
    labels_by_key: dict[str, set[str]] = {}
    for candidate in candidates:
        labels_by_key.setdefault(candidate.key, set()).add(candidate.document.label)
    documents = []
    for candidate in candidates:
        report = reports[candidate.document.label]
        if len(labels_by_key[candidate.key]) > 1:
            report.skip("conflicting_labels")
        else:
            report.used += 1
            documents.append(candidate.document)
    return documents


def _request_problems(
    labels: Sequence[str],
    wanted: list[str],
    available: list[str],
    missing: list[str],
    levels: Levels,
) -> list[Problem]:
    existing = _quoted(available) or "none"
    problems = [
        Problem(
            "duplicate_label",
            f"label '{label}' is named {count} times in the request; name each label once.",
            label,
        )
        for label, count in Counter(labels).items()
        if count > 1
    ]
    if len(wanted) < 2:
        names = "the request names" if levels.flat else f"at {levels.describe()} the request gives"
        problems.append(
            Problem(
                "too_few_labels",
                f"a classifier needs at least 2 labels; {names} {len(wanted)}"
                f" ({', '.join(repr(name) for name in wanted) or 'none'}). "
                f"Name at least two label folders (sub-folders found: {existing}).",
            )
        )
    # The lists go into the first problem only: N unknown labels must not cost N * N names.
    problems += [
        Problem(
            "label_not_found",
            f"label folder '{label}' was not found"
            + (
                f" (missing: {_quoted(missing)}; sub-folders found: {existing})"
                if index == 0
                else " either"
            )
            + f". Create a sub-folder named '{label}' holding its documents, or request only "
            "existing labels.",
            label,
        )
        for index, label in enumerate(missing)
    ]
    return problems


def _quoted(names: Sequence[str], shown: int = 50) -> str:
    listed = ", ".join(f"'{name}'" for name in names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _too_few_documents(report: LabelReport, minimum: int) -> Problem:
    skipped = sum(report.skipped.values())
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(report.skipped.items()))
    detail = f"{report.found} found, {skipped} skipped" + (f": {reasons}" if reasons else "")
    return Problem(
        "too_few_documents",
        f"label folder '{report.label}' has {report.used} usable documents ({detail}); "
        f"at least {minimum} are required. Add documents or lower CC_MIN_DOCS_PER_LABEL.",
        report.label,
    )
