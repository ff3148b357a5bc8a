"""Where users may point a training request: only inside the configured data roots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from custom_classifier.errors import LocationNotAllowedError, LocationNotFoundError

_FIX_ROOTS = (
    "Move the data under one of them, or add its folder to CC_DATA_ROOTS "
    """(a JSON list, e.g. CC_DATA_ROOTS='["/srv/data"]')."""
)


def resolve_location(location: str | Path, data_roots: Sequence[Path]) -> Path:
    """The resolved folder `location` names; a relative path is taken from the first data root.

    Links are resolved before the check, so a link cannot lead outside the data roots.
    Raises `LocationNotAllowedError` outside every root, `LocationNotFoundError` if not a folder.
    """
    roots = [Path(root).expanduser().resolve() for root in data_roots]
    if not roots:
        raise LocationNotAllowedError(
            f"no data roots are configured, so no location is allowed. {_FIX_ROOTS}",
            details={"location": str(location), "allowed_roots": []},
        )
    if "\x00" in str(location):
        raise LocationNotFoundError(
            f"{location!r} is not a valid path; give a folder under {roots[0]}.",
            details={"location": str(location)},
        )
    path = Path(location).expanduser()
    resolved = (path if path.is_absolute() else roots[0] / path).resolve()
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
