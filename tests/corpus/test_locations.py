from __future__ import annotations

import os
from pathlib import Path

import pytest

from custom_classifier.corpus.locations import resolve_location
from custom_classifier.errors import (
    InvalidLocationError,
    LocationNotAllowedError,
    LocationNotFoundError,
)


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


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("news\x00/etc", "NUL byte"),
        ("news/goal \ud800", "lone surrogate"),
        ("a/" * 5000, "10000 bytes long; at most 4095"),
        ("news/" + "b" * 300, "300 bytes long; one folder name may have at most 255"),
    ],
)
def test_text_that_cannot_be_a_path_is_refused_before_the_disk_is_asked(
    roots: list[Path], location: str, reason: str
) -> None:
    with pytest.raises(InvalidLocationError, match=reason) as caught:
        resolve_location(location, roots)

    assert caught.value.code == "invalid_location"
    assert "Give the path of a folder inside a data root" in caught.value.message
    assert len(caught.value.message) < 400  # a 10,000-character input is not echoed whole


def test_a_long_name_whose_parent_exists_is_refused_too(roots: list[Path]) -> None:
    with pytest.raises(InvalidLocationError):
        resolve_location("b" * 300, roots)


def test_tilde_user_is_not_expanded_so_it_is_only_a_missing_folder(roots: list[Path]) -> None:
    with pytest.raises(LocationNotFoundError, match="found nothing"):
        resolve_location("~nosuchuser", roots)


def test_tilde_alone_is_the_service_home(roots: list[Path]) -> None:
    with pytest.raises(LocationNotAllowedError, match=str(Path.home())):
        resolve_location("~/", roots)


def test_a_link_loop_is_not_found(roots: list[Path]) -> None:
    os.symlink(roots[0] / "loop", roots[0] / "loop")

    with pytest.raises(LocationNotFoundError):
        resolve_location("loop/inner", roots)
