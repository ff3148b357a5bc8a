from __future__ import annotations

import os
from pathlib import Path

import pytest

from custom_classifier.corpus.locations import resolve_location
from custom_classifier.errors import LocationNotAllowedError, LocationNotFoundError


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    first, second = tmp_path / "data", tmp_path / "more"
    (first / "news").mkdir(parents=True)
    (second / "mail").mkdir(parents=True)
    return [first, second]


def test_relative_path_is_taken_from_the_first_root(roots: list[Path]) -> None:
    assert resolve_location("news", roots) == (roots[0] / "news").resolve()


def test_absolute_path_in_any_root_is_allowed(roots: list[Path]) -> None:
    assert resolve_location(roots[1] / "mail", roots) == (roots[1] / "mail").resolve()
    assert resolve_location(str(roots[0]), roots) == roots[0].resolve()


def test_path_outside_every_root_is_refused_with_the_roots_and_the_fix(
    roots: list[Path], tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(LocationNotAllowedError) as caught:
        resolve_location(tmp_path / "elsewhere", roots)
    message = caught.value.message
    assert str(roots[0]) in message and str(roots[1]) in message
    assert "CC_DATA_ROOTS" in message


def test_dot_dot_cannot_escape_a_root(roots: list[Path]) -> None:
    with pytest.raises(LocationNotAllowedError):
        resolve_location("../../", roots)


def test_symlink_leading_outside_is_refused(roots: list[Path], tmp_path: Path) -> None:
    (tmp_path / "private").mkdir()
    os.symlink(tmp_path / "private", roots[0] / "innocent")
    with pytest.raises(LocationNotAllowedError):
        resolve_location("innocent", roots)


def test_missing_folder_or_a_file_is_not_found(roots: list[Path]) -> None:
    with pytest.raises(LocationNotFoundError, match="found nothing"):
        resolve_location("absent", roots)
    (roots[0] / "file.txt").write_text("x")
    with pytest.raises(LocationNotFoundError, match="found a file"):
        resolve_location("file.txt", roots)


def test_no_roots_allows_nothing(roots: list[Path]) -> None:
    with pytest.raises(LocationNotAllowedError, match="CC_DATA_ROOTS"):
        resolve_location(roots[0], [])
