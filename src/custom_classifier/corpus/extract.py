"""Turn one file (plain text, Markdown, HTML, PDF, DOCX, e-mail) into text.

Every failure is an `UnreadableDocumentError` whose `reason` is one of `SKIP_REASONS`, so that a
reader can count it and go on.
"""

from __future__ import annotations

import email
import io
from email import policy
from email.message import EmailMessage, MIMEPart
from pathlib import Path
from typing import cast

from charset_normalizer import from_bytes

from custom_classifier.errors import UnreadableDocumentError

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})

# Formats we know are not text and do not extract; anything else is tried as plain text.
UNSUPPORTED_SUFFIXES = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ico", ".svgz",
        ".heic", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".zst",
        ".exe", ".dll", ".so", ".dylib", ".bin", ".class", ".jar", ".pyc", ".o",
        ".mp3", ".mp4", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm",
        ".doc", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf",
        ".epub", ".msg", ".sqlite", ".db", ".parquet", ".pkl", ".npy", ".pt", ".onnx",
        ".woff", ".woff2", ".ttf", ".otf",
    }
)  # fmt: skip

_DROPPED_HTML_TAGS = ("script", "style", "noscript", "template")
_SNIFF_BYTES = 8192
_WESTERN_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
# Control bytes that do not occur in text (tab, newline, form feed, CR and ESC are allowed).
_CONTROL_BYTES = bytes(sorted(frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}))


def extract_text(path: Path) -> str:
    """Read `path` once and return its text; raise `UnreadableDocumentError` when it has none."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableDocumentError(
            f"cannot read {path.name}: {exc.strerror or exc}", reason="unreadable"
        ) from exc
    return extract_text_from_bytes(data, path.name)


def extract_text_from_bytes(data: bytes, filename: str) -> str:
    """Return the text of a file's content; the extension of `filename` picks the format."""
    if not data.strip():
        raise UnreadableDocumentError(f"{filename} is empty", reason="empty")
    suffix = Path(filename).suffix.lower()
    if suffix in UNSUPPORTED_SUFFIXES:
        raise UnreadableDocumentError(
            f"{filename}: '{suffix}' files are not supported; convert them to text, PDF or DOCX",
            reason="unsupported_format",
        )
    try:
        text = _extract(data, suffix, filename)
    except UnreadableDocumentError:
        raise
    except Exception as exc:  # parsers raise many kinds of errors on broken files
        raise UnreadableDocumentError(
            f"{filename} could not be parsed: {exc}", reason="unreadable"
        ) from exc
    text = text.strip()
    if not text:
        raise UnreadableDocumentError(f"{filename} contains no text", reason="empty")
    return text


def _extract(data: bytes, suffix: str, filename: str) -> str:
    if suffix == ".pdf":
        return _pdf_text(data, filename)
    if suffix == ".docx":
        return _docx_text(data)
    if suffix == ".eml":
        return _email_text(data)
    if suffix in HTML_SUFFIXES:
        return html_to_text(decode_text(data, filename))
    return decode_text(data, filename)


def decode_text(data: bytes, filename: str = "document") -> str:
    """Decode text bytes: UTF-8 first, then charset-normalizer's guess, then latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if looks_binary(data):
        raise UnreadableDocumentError(f"{filename} looks like a binary file", reason="binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    return _guess_decode(data)


def _guess_decode(data: bytes) -> str:
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return data.decode("latin-1")
    # On short texts several code pages tie; Western ones are the most common, so prefer them.
    for match in matches:
        western = match.encoding in _WESTERN_ENCODINGS
        if western and match.chaos <= best.chaos and match.coherence >= best.coherence:
            return str(match)
    return str(best)


def looks_binary(data: bytes) -> bool:
    """True when the first bytes hold a NUL or many control bytes that text never has."""
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))  # counted in C
    return control > len(sample) * 0.05


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, without scripts and styles."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(_DROPPED_HTML_TAGS):
        tag.decompose()
    return soup.get_text(separator="\n")


def _pdf_text(data: bytes, filename: str) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    # An owner-password-only PDF opens with an empty user password; anything else is locked.
    if reader.is_encrypted and not reader.decrypt(""):
        raise UnreadableDocumentError(
            f"{filename} is password-protected; remove the password to use it",
            reason="encrypted",
        )
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _email_text(data: bytes) -> str:
    # With `policy.default` the parser builds an `EmailMessage`, which has `get_body`.
    message = cast(EmailMessage, email.message_from_bytes(data, policy=policy.default))
    subject = str(message.get("subject", "") or "")
    body = ""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        body = _part_text(plain)
    else:
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            body = html_to_text(_part_text(html))
    return f"{subject}\n\n{body}" if subject else body


def _part_text(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):  # unknown or wrong charset in the header
        payload = part.get_payload(decode=True)
        return decode_text(payload) if isinstance(payload, bytes) else ""
