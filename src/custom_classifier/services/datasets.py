"""Users' data: which folders a user may train on, safe zip uploads, and browsing for the UI.

Each user owns `<data_root>/users/<username>/`. Anything else under a data root is shared,
except the other users' areas.
"""

from __future__ import annotations

import lzma
import os
import re
import secrets
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from custom_classifier.config import Settings
from custom_classifier.corpus.locations import lexical_path, resolve_location
from custom_classifier.errors import (
    ConflictError,
    LocationNotAllowedError,
    LocationNotFoundError,
    UnsupportedUploadError,
    UploadTooLargeError,
)

USERS_FOLDER = "users"
CHUNK = 1024 * 1024
_IGNORED_PARTS = ("__MACOSX",)
_ENCRYPTED = 0x1
"""Bit 0 of a zip entry's general purpose flags."""
_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_DATASET_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class DatasetInfo:
    """An unpacked upload: where it is and how many documents each label folder holds."""

    name: str
    location: str
    labels: dict[str, int]
    files: int


@dataclass(frozen=True)
class FolderEntry:
    name: str
    path: str
    documents: int
    """Files anywhere below this folder."""
    documents_here: int = 0
    """Files directly in this folder: a label folder of a data set has some."""


@dataclass(frozen=True)
class FolderListing:
    path: str | None
    """None for the list of data roots."""
    parent: str | None
    documents: int
    """Files directly in this folder."""
    folders: list[FolderEntry] = field(default_factory=list)


def user_area(settings: Settings, username: str) -> Path:
    """The user's own folder in the first data root (created on first use)."""
    return settings.resolved_data_roots[0] / USERS_FOLDER / username


def resolve_user_location(location: str | Path, username: str, settings: Settings) -> Path:
    """The folder `location` names, if this user may read it; the same rules as training.

    Checked before looking at the disk, so another user's folders are refused whether or not
    they exist.
    """
    roots = settings.resolved_data_roots
    lexical = lexical_path(location, roots[0])
    for root in roots:
        if _in_other_users_area(lexical, root, username):
            raise LocationNotAllowedError(
                f"{location} is inside another user's area; use a folder under "
                f"{root / USERS_FOLDER / username} or a shared folder of the data roots",
                details={"location": str(location)},
            )
    return resolve_location(location, roots)


def _in_other_users_area(path: Path, root: Path, username: str) -> bool:
    users = root / USERS_FOLDER
    if path == users:
        return True
    if not path.is_relative_to(users):
        return False
    return path.relative_to(users).parts[0] != username


def browse(path: str | None, username: str, settings: Settings) -> FolderListing:
    """The sub-folders of `path` with their document counts; without a path, the data roots."""
    if not path:
        return FolderListing(
            path=None,
            parent=None,
            documents=0,
            folders=[_entry(root, root.as_posix()) for root in settings.resolved_data_roots],
        )
    roots = settings.resolved_data_roots
    folder = _resolve_browsable(path, username, settings)
    try:
        children = sorted(folder.iterdir())
    except OSError as error:
        raise LocationNotFoundError(
            f"{path} cannot be listed ({error.strerror}); pick another folder",
            details={"location": path},
        ) from None
    folders = [_entry(child, child.name) for child in children if _visible(child, username, roots)]
    parent = None if folder in roots else str(folder.parent)
    documents = sum(1 for child in children if child.is_file())
    return FolderListing(path=str(folder), parent=parent, documents=documents, folders=folders)


def _visible(child: Path, username: str, roots: list[Path]) -> bool:
    if not child.is_dir() or child.name.startswith(".") or not _is_unicode(child.name):
        return False
    try:
        resolved = child.resolve()
    except RuntimeError:  # a link loop
        return False
    if resolved in [root / USERS_FOLDER for root in roots]:
        return True  # listing it shows only the caller's own area
    return not any(_in_other_users_area(resolved, root, username) for root in roots)


def _is_unicode(name: str) -> bool:
    """False for a name whose bytes are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _resolve_browsable(path: str, username: str, settings: Settings) -> Path:
    """Like `resolve_user_location`, but `<root>/users` itself may be opened (it shows only yours)."""
    roots = settings.resolved_data_roots
    lexical = lexical_path(path, roots[0])
    if lexical in [root / USERS_FOLDER for root in roots]:
        user_area(settings, username).mkdir(parents=True, exist_ok=True)
        return resolve_location(lexical, roots)
    return resolve_user_location(path, username, settings)


def _entry(folder: Path, name: str) -> FolderEntry:
    documents, here = _count_files(folder)
    return FolderEntry(name=name, path=str(folder), documents=documents, documents_here=here)


def _count_files(folder: Path) -> tuple[int, int]:
    """Visible files below `folder`, and those directly in it."""
    count = here = 0
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        visible = sum(1 for name in files if not name.startswith("."))
        count += visible
        here += visible if current == str(folder) else 0
    return count, here


def unpack_dataset(
    upload: BinaryIO, filename: str, username: str, settings: Settings, *, name: str | None = None
) -> DatasetInfo:
    """Unpack a zip of label folders into the user's area; every limit is checked first."""
    area = user_area(settings, username)
    area.mkdir(parents=True, exist_ok=True)
    target = _target_folder(area, name or Path(filename).stem, explicit=name is not None)
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=area) as scratch:
        archive = Path(scratch) / "upload.zip"
        _save_limited(upload, archive, settings.max_upload_bytes)
        staging = Path(scratch) / "unpacked"
        files = _extract(archive, staging, settings)
        staging.rename(target)
    labels = {d.name: _count_files(d)[0] for d in sorted(target.iterdir()) if d.is_dir()}
    return DatasetInfo(name=target.name, location=str(target), labels=labels, files=files)


def _target_folder(area: Path, name: str, *, explicit: bool) -> Path:
    clean = _DATASET_NAME.sub("-", name).strip(".-") or "dataset"
    target = area / clean
    if target.exists():
        if explicit:
            raise ConflictError(
                f"a dataset named {clean!r} already exists in your area; choose another name",
                details={"name": clean},
            )
        target = area / f"{clean}-{secrets.token_hex(3)}"
    return target


def _save_limited(upload: BinaryIO, destination: Path, limit: int) -> None:
    written = 0
    with destination.open("wb") as out:
        while chunk := upload.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise _too_large(f"the upload is larger than {limit} bytes", limit=limit)
            out.write(chunk)


def _extract(archive: Path, destination: Path, settings: Settings) -> int:
    try:
        bundle = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise UnsupportedUploadError(
            "the upload is not a zip file; send a .zip with one folder per label"
        ) from None
    with bundle:
        members = _checked_members(bundle, settings)
        strip = _common_top_folder(members)
        written = 0
        for member in members:
            parts = PurePosixPath(member.filename).parts[strip:]
            path = destination.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            written += _copy_member(bundle, member, path, settings.max_upload_bytes - written)
    return len(members)


def _checked_members(bundle: zipfile.ZipFile, settings: Settings) -> list[zipfile.ZipInfo]:
    unsafe = [m.filename for m in bundle.infolist() if _unsafe(m)]
    if unsafe:
        raise UnsupportedUploadError(
            f"{len(unsafe)} zip entries have absolute paths, '..', or are links; "
            "only plain files in label folders are accepted",
            details={"entries": unsafe[:50]},
        )
    members = [m for m in bundle.infolist() if not m.is_dir() and not _ignored(m.filename)]
    if not members:
        raise UnsupportedUploadError("the zip holds no files; put one folder per label in it")
    _refuse_unreadable(members)
    if len(members) > settings.max_upload_files:
        raise _too_large(
            f"the zip holds {len(members)} files; at most {settings.max_upload_files} are allowed",
            limit=settings.max_upload_files,
        )
    total = sum(m.file_size for m in members)
    if total > settings.max_upload_bytes:
        raise _too_large(
            f"the zip unpacks to {total} bytes; at most {settings.max_upload_bytes} are allowed",
            limit=settings.max_upload_bytes,
        )
    ratio = total / max(1, sum(m.compress_size for m in members))
    if ratio > settings.max_compression_ratio:
        raise _too_large(
            f"the zip expands {ratio:.0f} times; at most {settings.max_compression_ratio:.0f} "
            "is allowed (this looks like a zip bomb)",
            limit=settings.max_compression_ratio,
        )
    return members


def _refuse_unreadable(members: list[zipfile.ZipInfo]) -> None:
    """Encrypted entries and compression methods Python cannot unpack, all listed at once."""
    encrypted = [m.filename for m in members if m.flag_bits & _ENCRYPTED]
    if encrypted:
        raise UnsupportedUploadError(
            f"{len(encrypted)} zip entries are encrypted; the zip must not have a password. "
            "Create it again without encryption.",
            details={"entries": encrypted[:50]},
        )
    unknown = [m for m in members if m.compress_type not in _METHODS]
    if unknown:
        methods = sorted({m.compress_type for m in unknown})
        raise UnsupportedUploadError(
            f"{len(unknown)} zip entries use compression method(s) {methods}; only "
            f"{', '.join(_METHODS.values())} are supported. Create the zip again with the "
            "default (deflate) compression.",
            details={"entries": [m.filename for m in unknown[:50]], "methods": methods},
        )


def _ignored(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p in _IGNORED_PARTS or p.startswith(".") for p in parts)


def _unsafe(member: zipfile.ZipInfo) -> bool:
    name = member.filename
    path = PurePosixPath(name)
    is_link = stat.S_ISLNK(member.external_attr >> 16)
    return (
        is_link
        or "\\" in name
        or "\x00" in name
        or path.is_absolute()
        or ".." in path.parts
        or re.match(r"^[A-Za-z]:", name) is not None
    )


def _common_top_folder(members: list[zipfile.ZipInfo]) -> int:
    """1 when every file sits under one wrapping folder (`dataset/<label>/<file>`), else 0."""
    parts = [PurePosixPath(m.filename).parts for m in members]
    tops = {p[0] for p in parts}
    return 1 if len(tops) == 1 and all(len(p) >= 3 for p in parts) else 0


def _copy_member(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path, budget: int) -> int:
    """Copy one entry, trusting the bytes actually read rather than the declared size."""
    written = 0
    with bundle.open(member) as source, path.open("wb") as out:
        while chunk := _read(source, member):
            written += len(chunk)
            if written > member.file_size or written > budget:
                raise _too_large("a zip entry unpacks to more bytes than it declares", limit=budget)
            out.write(chunk)
    return written


def _read(source: IO[bytes], member: zipfile.ZipInfo) -> bytes:
    """A chunk of the entry; a damaged entry (bad CRC, bad data, cut short) is the user's 422."""
    try:
        return source.read(CHUNK)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as error:
        raise UnsupportedUploadError(
            f"zip entry {member.filename!r} is damaged ({error}): the zip is corrupt or was cut "
            "short. Create it again and upload it once more.",
            details={"entries": [member.filename]},
        ) from None


def _too_large(message: str, *, limit: float) -> UploadTooLargeError:
    return UploadTooLargeError(message, details={"limit": limit})
