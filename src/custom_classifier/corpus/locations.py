"""Where users may point a training request: only inside the configured data roots.

A location comes from outside (the API, the UI, the CLI), so its text is checked before any
file-system call sees it: a NUL byte, a lone surrogate or a name longer than Linux allows would
otherwise surface as a `ValueError` or `OSError` deep inside `pathlib`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from custom_classifier.errors import (
    InvalidLocationError,
    LocationNotAllowedError,
    LocationNotFoundError,
)

MAX_PATH_BYTES = 4095
"""Linux's PATH_MAX (4096) less the terminating NUL."""
MAX_NAME_BYTES = 255
"""Linux's NAME_MAX: the longest one folder or file name may be."""

_FIX_ROOTS = (
    "Move the data under one of them, or add its folder to CC_DATA_ROOTS "
    """(a JSON list, e.g. CC_DATA_ROOTS='["/srv/data"]')."""
)


def resolve_location(location: str | Path, data_roots: Sequence[Path]) -> Path:
    """The resolved folder `location` names; a relative path is taken from the first data root.

    Links are resolved before the check, so a link cannot lead outside the data roots.
    Raises `InvalidLocationError` for text that cannot be a path, `LocationNotAllowedError`
    outside every root, `LocationNotFoundError` if not a folder.
    """
    roots = [Path(root).expanduser().resolve() for root in data_roots]
    if not roots:
        raise LocationNotAllowedError(
            f"no data roots are configured, so no location is allowed. {_FIX_ROOTS}",
            details={"location": str(location), "allowed_roots": []},
        )
    resolved = lexical_path(location, roots[0])
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise LocationNotAllowedError(
            f"{location} resolves to {resolved}, which is outside the allowed data roots "
            f"({allowed}). {_FIX_ROOTS}",
            details={"location": str(location), "allowed_roots": [str(r) for r in roots]},
        )
    if not resolved.is_dir():
        found = "a file" if resolved.exists() else "nothing"
        raise LocationNotFoundError(
            f"{location} (resolved to {resolved}) is not a folder: found {found}. Give a "
            "folder with one sub-folder per label.",
            details={"location": str(location), "resolved": str(resolved)},
        )
    return resolved


def lexical_path(location: str | Path, base: Path) -> Path:
    """`location` made absolute (from `base` when relative) with its links resolved.

    `~` and `~/...` name the service's home folder; `~user` is not expanded (it would tell
    whether an account exists on the server), so it is a folder named `~user` under `base`.
    """
    path = check_location_text(location)
    try:
        path = _home_expanded(path)
        return (path if path.is_absolute() else base / path).resolve()
    except (OSError, RuntimeError) as error:  # a link loop, a name too long once links expand
        raise LocationNotFoundError(
            f"{location} cannot be resolved to a folder ({error}); give a folder with one "
            "sub-folder per label.",
            details={"location": str(location)},
        ) from None


def check_location_text(location: str | Path) -> Path:
    """The path `location` spells, if its text can be one; else `InvalidLocationError`."""
    text = str(location)
    if "\x00" in text:
        raise _invalid(text, "it holds a NUL byte (\\x00), which no path may contain")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _invalid(
            text, f"it is not valid Unicode (a lone surrogate at character {error.start})"
        ) from None
    if len(encoded) > MAX_PATH_BYTES:
        raise _invalid(text, f"it is {len(encoded)} bytes long; at most {MAX_PATH_BYTES} are")
    for name in Path(text).parts:
        size = len(name.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            raise _invalid(
                text,
                f"the name {name[:40]!r}... is {size} bytes long; one folder name may have at "
                f"most {MAX_NAME_BYTES}",
            )
    return Path(text)


def _home_expanded(path: Path) -> Path:
    if path.parts and path.parts[0] == "~":
        return path.expanduser()
    return path


def _invalid(text: str, reason: str) -> InvalidLocationError:
    shown = text if len(text) <= 80 else text[:80] + "..."
    return InvalidLocationError(
        f"the location {shown!r} is not a valid folder path: {reason}. Give the path of a "
        "folder inside a data root, such as users/<you>/<dataset>.",
        details={"location": shown},
    )
