from __future__ import annotations

from pathlib import Path

import pytest

from custom_classifier.corpus.extract import extract_text, extract_text_from_bytes
from custom_classifier.errors import UnreadableDocumentError
from factories import write_docx, write_eml, write_html, write_pdf

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"


def skip_reason(data: bytes, filename: str) -> str:
    with pytest.raises(UnreadableDocumentError) as caught:
        extract_text_from_bytes(data, filename)
    return caught.value.reason


def test_plain_text_without_extension_is_read() -> None:
    data = b"From: someone@example.com\nSubject: hockey\n\nThe game went to overtime."
    assert extract_text_from_bytes(data, "49960").endswith("went to overtime.")


def test_markdown_is_read_as_text() -> None:
    assert extract_text_from_bytes(b"# Title\n\nSome *body* text.", "a.md").startswith("# Title")


def test_latin1_text_is_decoded() -> None:
    text = "Le café était très apprécié à Montréal, déjà célèbre."
    assert extract_text_from_bytes(text.encode("latin-1"), "note.txt") == text


def test_utf8_bom_and_utf16_are_decoded() -> None:
    text = "naïve résumé text"
    assert extract_text_from_bytes(text.encode("utf-8-sig"), "a.txt") == text
    assert extract_text_from_bytes(text.encode("utf-16"), "a.txt") == text


@pytest.mark.parametrize("data", [b"", b"   \n\t  \n"])
def test_empty_file_is_skipped_as_empty(data: bytes) -> None:
    assert skip_reason(data, "empty.txt") == "empty"


def test_binary_content_with_unknown_extension_is_skipped_as_binary() -> None:
    assert skip_reason(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" * 20, "archive.data") == "binary"
    assert skip_reason(PNG_HEADER * 10, "noextension") == "binary"


def test_image_extension_is_unsupported() -> None:
    assert skip_reason(PNG_HEADER, "photo.PNG") == "unsupported_format"


def test_html_drops_scripts_and_styles(tmp_path: Path) -> None:
    path = write_html(tmp_path / "page.html", "Visible paragraph about football.")
    text = extract_text(path)
    assert "Visible paragraph about football." in text
    assert "script text" not in text
    assert "color" not in text


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "doc.pdf", "Quarterly earnings rose sharply")
    assert "Quarterly earnings rose sharply" in extract_text(path)


def test_encrypted_pdf_is_skipped_as_encrypted(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", "Secret text", password="s3cret")
    with pytest.raises(UnreadableDocumentError) as caught:
        extract_text(path)
    assert caught.value.reason == "encrypted"
    assert "password" in caught.value.message


def test_broken_pdf_is_unreadable() -> None:
    assert skip_reason(b"%PDF-1.7\nthis is not really a pdf", "broken.pdf") == "unreadable"


def test_docx_paragraphs_and_tables_are_extracted(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "doc.docx", ["First paragraph."], table=[["cell one", "cell two"]])
    text = extract_text(path)
    assert "First paragraph." in text
    assert "cell one" in text and "cell two" in text


def test_eml_gives_subject_and_plain_body(tmp_path: Path) -> None:
    path = write_eml(tmp_path / "m.eml", "Cheap pills", body="Buy now", html="<p>HTML body</p>")
    text = extract_text(path)
    assert text.startswith("Cheap pills")
    assert "Buy now" in text
    assert "HTML body" not in text


def test_eml_with_only_html_uses_the_html_text(tmp_path: Path) -> None:
    html = "<p>Meeting moved</p><script>evil()</script>"
    text = extract_text(write_eml(tmp_path / "m.eml", "Agenda", html=html))
    assert "Meeting moved" in text
    assert "evil" not in text


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocumentError) as caught:
        extract_text(tmp_path / "nope.txt")
    assert caught.value.reason == "unreadable"


@pytest.mark.parametrize(
    ("control_bytes", "binary"), [(0, False), (409, False), (410, True), (8192, True)]
)
def test_more_than_one_control_byte_in_twenty_reads_as_binary(
    control_bytes: int, binary: bool
) -> None:
    from custom_classifier.corpus.extract import looks_binary

    sample = b"\x01" * control_bytes + b"text\t\r\n\x0c\x1b" * 1000
    assert looks_binary(sample[:8192] + b"\x02" * 100) is binary  # bytes past 8 KiB: unread
