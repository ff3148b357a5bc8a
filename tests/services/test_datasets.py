"""Zip uploads are unpacked only when safe; users cannot reach each other's areas."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path

import pytest

from custom_classifier.config import Settings
from custom_classifier.errors import (
    LocationNotAllowedError,
    UnsupportedUploadError,
    UploadTooLargeError,
)
from custom_classifier.services import datasets
from factories import make_zip, topic_folder_files


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path, max_upload_files=100, max_compression_ratio=50)
    settings.resolved_data_roots[0].mkdir(parents=True)
    return settings


def _unpack(settings: Settings, archive: Path, user: str = "alice") -> datasets.DatasetInfo:
    with archive.open("rb") as upload:
        return datasets.unpack_dataset(upload, archive.name, user, settings)


def test_a_zip_of_label_folders_lands_in_the_users_area(settings: Settings, tmp_path: Path) -> None:
    files = {f"news/{k}": v for k, v in topic_folder_files({"sport": 3, "finance": 2}).items()}
    info = _unpack(settings, make_zip(tmp_path / "news.zip", files))

    assert Path(info.location).parent == settings.resolved_data_roots[0] / "users" / "alice"
    assert info.labels == {"finance": 2, "sport": 3}


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:/x.txt"])
def test_path_escapes_are_refused(settings: Settings, tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "evil.zip", {"ok/a.txt": "fine", name: "evil"})

    with pytest.raises(UnsupportedUploadError) as error:
        _unpack(settings, archive)
    assert error.value.details["entries"] == [name]
    assert not (tmp_path / "evil.txt").exists()


def test_links_are_refused(settings: Settings, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        link = zipfile.ZipInfo("label/link.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    archive = tmp_path / "links.zip"
    archive.write_bytes(buffer.getvalue())

    with pytest.raises(UnsupportedUploadError):
        _unpack(settings, archive)


def test_limits_on_files_size_and_compression_ratio(settings: Settings, tmp_path: Path) -> None:
    many = make_zip(tmp_path / "many.zip", {f"a/{i}.txt": "x" for i in range(101)})
    bomb = make_zip(tmp_path / "bomb.zip", {"a/zeros.txt": "0" * 1_000_000})
    with pytest.raises(UploadTooLargeError, match="101 files"):
        _unpack(settings, many)
    with pytest.raises(UploadTooLargeError, match="zip bomb"):
        _unpack(settings, bomb)
    small = settings.model_copy(update={"max_upload_bytes": 100})
    with pytest.raises(UploadTooLargeError):
        _unpack(small, make_zip(tmp_path / "big.zip", topic_folder_files({"sport": 10})))


def test_not_a_zip_is_refused(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"definitely not a zip")

    with pytest.raises(UnsupportedUploadError, match="not a zip"):
        _unpack(settings, junk)


def test_locations_in_another_users_area_are_refused(settings: Settings) -> None:
    root = settings.resolved_data_roots[0]
    for user in ("alice", "bob"):
        (root / "users" / user / "data").mkdir(parents=True)
    (root / "shared").mkdir()

    assert datasets.resolve_user_location("users/alice/data", "alice", settings).is_dir()
    assert datasets.resolve_user_location(str(root / "shared"), "alice", settings).is_dir()
    for location in ("users/bob/data", "users/bob/missing", "users", "users/alice/../bob"):
        with pytest.raises(LocationNotAllowedError):
            datasets.resolve_user_location(location, "alice", settings)


def test_browse_shows_only_the_callers_area(settings: Settings) -> None:
    root = settings.resolved_data_roots[0]
    for user in ("alice", "bob"):
        (root / "users" / user / "data").mkdir(parents=True)
    (root / "shared" / "sport").mkdir(parents=True)
    (root / "shared" / "sport" / "a.txt").write_text("x")

    top = datasets.browse(str(root), "alice", settings)
    users = datasets.browse("users", "alice", settings)

    assert {f.name: f.documents for f in top.folders} == {"shared": 1, "users": 0}
    assert [f.name for f in users.folders] == ["alice"]


def _patched_zip(tmp_path: Path, patch: str) -> Path:
    """A one-file stored zip whose headers (local and central) or data were altered."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as bundle:
        bundle.writestr("sport/a.txt", "football match goal striker league " * 4)
    data = bytearray(buffer.getvalue())
    local, central = 0, data.index(b"PK\x01\x02")
    if patch == "bad_crc":
        data[30 + len("sport/a.txt")] ^= 0xFF  # the first byte of the file's data
    elif patch == "encrypted":
        data[local + 6] |= 0x1
        data[central + 8] |= 0x1
    elif patch == "method_99":
        data[local + 8 : local + 10] = (99).to_bytes(2, "little")
        data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    elif patch == "size_smaller_than_data":
        data[local + 22 : local + 26] = (10).to_bytes(4, "little")
        data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive = tmp_path / f"{patch}.zip"
    archive.write_bytes(bytes(data))
    return archive


@pytest.mark.parametrize(
    ("patch", "said"),
    [
        ("bad_crc", "is damaged"),
        ("encrypted", "encrypted; the zip must not have a password"),
        ("method_99", "compression method(s) [99]"),
        ("size_smaller_than_data", "is damaged"),
    ],
)
def test_damaged_encrypted_or_unknown_entries_are_the_users_error(
    settings: Settings, tmp_path: Path, patch: str, said: str
) -> None:
    with pytest.raises(UnsupportedUploadError, match=re.escape(said)) as error:
        _unpack(settings, _patched_zip(tmp_path, patch))

    assert error.value.details["entries"] == ["sport/a.txt"]
    assert "again" in error.value.message  # says how to fix it
    area = settings.resolved_data_roots[0] / "users" / "alice"
    assert [p.name for p in area.iterdir()] == []  # nothing half-unpacked is left
