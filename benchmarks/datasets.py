"""Unpack the public data sets in ../shared/datasets once, for the benchmarks."""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
CACHE = Path(__file__).resolve().parent / ".data"

ARCHIVES = {
    "bbc": ("bbc/bbc.tar.gz", "bbc"),
    "20news-train": ("20newsgroups/20news-bydate.tar.gz", "20news-bydate-train"),
    "20news-test": ("20newsgroups/20news-bydate.tar.gz", "20news-bydate-test"),
    "sms_spam": ("sms_spam/sms_spam.tar.gz", "sms_spam"),
}


def dataset_folder(name: str) -> Path:
    """The folder-per-label root of a data set, unpacked under benchmarks/.data on first use."""
    archive, folder = ARCHIVES[name]
    target = CACHE / folder
    if not target.is_dir():
        source = SHARED / archive
        if not source.is_file():
            raise SystemExit(f"{source} is missing: the benchmarks need ../shared/datasets")
        _unpack(source)
    return target


def _unpack(source: Path) -> None:
    """Unpack into a staging folder, then move each top folder into place whole: benchmarks
    started together must not read a folder another one is still unpacking (they saw one label
    folder of several and trained on it)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=CACHE))
    try:
        with tarfile.open(source) as tar:
            tar.extractall(staging, filter="data")
        for folder in staging.iterdir():
            # another process may have moved its copy in first
            with contextlib.suppress(OSError):
                folder.rename(CACHE / folder.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def label_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
