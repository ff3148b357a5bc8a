from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from custom_classifier.corpus.reader import (
    fingerprint,
    inspect_corpus,
    list_label_folders,
    load_corpus,
)
from custom_classifier.errors import InvalidDatasetError, LocationNotFoundError
from factories import distinct_texts, make_labeled_folder, write_docx, write_eml, write_pdf

BBC_ARCHIVE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "bbc" / "bbc.tar.gz"


def two_labels(tmp_path: Path, count: int = 3) -> Path:
    return make_labeled_folder(
        tmp_path, {"spam": distinct_texts("spam", count), "ham": distinct_texts("ham", count)}
    )


def codes(corpus_problems: list) -> list[str]:
    return [problem.code for problem in corpus_problems]


def test_reads_every_label_and_reports_counts(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    corpus = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=3)
    assert corpus.report.ok
    assert corpus.labels == ["spam", "ham"]
    assert len(corpus.documents) == 6
    assert {doc.id for doc in corpus.documents if doc.label == "ham"} == {
        "ham/doc_0000.txt",
        "ham/doc_0001.txt",
        "ham/doc_0002.txt",
    }
    spam = corpus.report.labels[0]
    assert (spam.label, spam.found, spam.used, spam.skipped) == ("spam", 3, 3, {})
    assert corpus.report.available_labels == ["ham", "spam"]


def test_label_folders_are_read_recursively_in_every_format(tmp_path: Path) -> None:
    root = two_labels(tmp_path, count=1)
    write_pdf(root / "spam" / "deep" / "er" / "offer.pdf", "Win a free cruise to the islands today")
    write_docx(root / "spam" / "letter.docx", ["Claim your prize money before Friday"])
    write_eml(root / "ham" / "mail.eml", "Lunch", body="Shall we have lunch on Tuesday at noon?")
    (root / "ham" / "notes.md").write_text("# Notes\n\nMinutes of the weekly team meeting.")
    corpus = load_corpus(root, ["spam", "ham"], min_docs_per_label=3)
    ids = {doc.id for doc in corpus.documents}
    assert {"spam/deep/er/offer.pdf", "spam/letter.docx", "ham/mail.eml", "ham/notes.md"} <= ids


def test_list_label_folders_skips_hidden_folders_and_files(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    (root / ".git").mkdir()
    (root / "README.txt").write_text("not a label")
    assert list_label_folders(root) == ["ham", "spam"]


def test_hidden_files_and_folders_are_skipped_silently(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    (root / "spam" / ".DS_Store").write_bytes(b"\x00\x01binary")
    (root / "spam" / ".cache").mkdir()
    (root / "spam" / ".cache" / "copy.txt").write_text("a hidden copy that must never be read")
    report = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1).report
    assert (report.labels[0].found, report.labels[0].skipped) == (3, {})


def test_bad_files_are_skipped_and_counted_per_reason(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    spam = root / "spam"
    (spam / "empty.txt").write_bytes(b"")
    (spam / "short.txt").write_text("too short")
    (spam / "image.data").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 5)
    (spam / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    write_pdf(spam / "locked.pdf", "A locked document about prizes", password="pw")
    (spam / "latin1.txt").write_bytes("Réunion très importante à Montréal demain".encode("latin-1"))
    report = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1).report
    spam_report = report.labels[0]
    assert spam_report.found == 9
    assert spam_report.used == 4
    assert spam_report.skipped == {
        "empty": 1,
        "too_short": 1,
        "binary": 1,
        "unsupported_format": 1,
        "encrypted": 1,
    }
    assert report.ok


def test_min_chars_counts_non_space_characters(tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path, {"a": ["x y z " * 3], "b": ["abcdefghij"]})
    report = inspect_corpus(root, ["a", "b"], min_docs_per_label=1, min_chars=10).report
    assert report.labels[0].skipped == {"too_short": 1}
    assert report.labels[1].used == 1


def test_latin1_document_keeps_its_accents(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    text = "Réunion très importante à Montréal demain matin"
    (root / "ham" / "latin1.txt").write_bytes(text.encode("latin-1"))
    corpus = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1)
    assert text in {doc.text for doc in corpus.documents}


def test_duplicates_inside_a_label_are_dropped_ignoring_whitespace(tmp_path: Path) -> None:
    text = "the same words in the same order every time"
    root = make_labeled_folder(
        tmp_path, {"spam": [text, "  the same words\n\nin the   same order every time "],
                   "ham": distinct_texts("ham", 1)}
    )  # fmt: skip
    report = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1).report
    assert (report.labels[0].used, report.labels[0].skipped) == (1, {"duplicate": 1})


def test_text_under_two_labels_is_left_out_and_counted_under_each(tmp_path: Path) -> None:
    shared = "this text was filed under both labels by mistake"
    root = make_labeled_folder(
        tmp_path, {"spam": [shared, *distinct_texts("spam", 2)], "ham": [*distinct_texts("ham", 2), shared]}
    )  # fmt: skip
    corpus = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=2)
    assert shared not in {doc.text for doc in corpus.documents}
    for label_report in corpus.report.labels:
        assert (label_report.used, label_report.skipped) == (2, {"conflicting_labels": 1})


def test_symlink_outside_the_root_is_refused(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    outside = tmp_path / "secret.txt"
    outside.write_text("a private file outside the corpus folder")
    os.symlink(outside, root / "spam" / "link.txt")
    os.symlink(tmp_path, root / "spam" / "linked_dir")
    corpus = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1)
    assert corpus.report.labels[0].skipped == {"symlink_outside_root": 2}
    assert "a private file outside the corpus folder" not in {d.text for d in corpus.documents}


def test_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    extra = root / "spam_archive"
    extra.mkdir()
    (extra / "old.txt").write_text("an old spam message kept in the archive folder")
    os.symlink(extra, root / "spam" / "archive")
    os.symlink(root / "spam", root / "spam" / "loop")
    corpus = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1)
    assert "spam/archive/old.txt" in {doc.id for doc in corpus.documents}


def test_one_label_is_a_problem(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    problems = inspect_corpus(root, ["spam"], min_docs_per_label=1).report.problems
    assert codes(problems) == ["too_few_labels"]
    assert "at least 2 labels" in problems[0].message
    assert "'ham'" in problems[0].message  # tells which folders could be named


def test_missing_label_lists_missing_and_existing_folders(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    problems = inspect_corpus(root, ["spam", "sport", "tech"], min_docs_per_label=1).report.problems
    assert codes(problems) == ["label_not_found", "label_not_found"]
    assert [problem.label for problem in problems] == ["sport", "tech"]
    message = problems[0].message
    assert "'sport'" in message and "'tech'" in message
    assert "'ham', 'spam'" in message


def test_duplicate_label_in_the_request_is_a_problem(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    report = inspect_corpus(root, ["spam", "ham", "spam"], min_docs_per_label=1).report
    assert codes(report.problems) == ["duplicate_label"]
    assert [label.label for label in report.labels] == ["spam", "ham"]


def test_too_few_documents_message_says_found_skipped_and_fix(tmp_path: Path) -> None:
    root = two_labels(tmp_path, count=3)
    (root / "spam" / "empty.txt").write_text("")
    problems = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=5).report.problems
    assert codes(problems) == ["too_few_documents", "too_few_documents"]
    assert problems[0].label == "spam"
    assert problems[0].message == (
        "label folder 'spam' has 3 usable documents (4 found, 1 skipped: 1 empty); "
        "at least 5 are required. Add documents or lower CC_MIN_DOCS_PER_LABEL."
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    report = inspect_corpus(root, ["spam", "spam", "nope"], min_docs_per_label=10).report
    assert sorted(codes(report.problems)) == [
        "duplicate_label",
        "label_not_found",
        "too_few_documents",
    ]


def test_load_corpus_raises_with_the_report(tmp_path: Path) -> None:
    root = two_labels(tmp_path)
    with pytest.raises(InvalidDatasetError) as caught:
        load_corpus(root, ["spam", "nope"], min_docs_per_label=10)
    details = caught.value.details["report"]
    assert {p["code"] for p in details["problems"]} == {"label_not_found", "too_few_documents"}
    assert "'nope'" in caught.value.message


def test_root_that_is_not_a_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(LocationNotFoundError):
        inspect_corpus(tmp_path / "missing", ["a", "b"], min_docs_per_label=1)


def test_fingerprint_depends_on_content_not_file_names(tmp_path: Path) -> None:
    first = inspect_corpus(two_labels(tmp_path / "a"), ["spam", "ham"], min_docs_per_label=1)
    second_root = two_labels(tmp_path / "b")
    (second_root / "ham" / "doc_0000.txt").rename(second_root / "ham" / "renamed.txt")
    second = inspect_corpus(second_root, ["ham", "spam"], min_docs_per_label=1)
    assert first.fingerprint == second.fingerprint == fingerprint(first.documents)
    (second_root / "ham" / "new.txt").write_text("one more document changes the fingerprint")
    third = inspect_corpus(second_root, ["ham", "spam"], min_docs_per_label=1)
    assert third.fingerprint != first.fingerprint


@pytest.mark.skipif(not BBC_ARCHIVE.exists(), reason="shared BBC dataset not available")
def test_reads_a_few_real_bbc_articles(tmp_path: Path) -> None:
    wanted = {f"bbc/{label}/00{i}.txt" for label in ("sport", "tech") for i in range(1, 6)}
    with tarfile.open(BBC_ARCHIVE) as archive:
        members = [member for member in archive.getmembers() if member.name in wanted]
        archive.extractall(tmp_path, members=members, filter="data")
    corpus = load_corpus(tmp_path / "bbc", ["sport", "tech"], min_docs_per_label=5)
    assert len(corpus.documents) == 10


def test_reading_reports_progress_against_a_total_counted_first(tmp_path: Path) -> None:
    root = two_labels(tmp_path, count=250)
    (root / "ham" / "empty.txt").write_text("")  # skipped, but read: it counts
    heard: list[tuple[int, int]] = []
    corpus = load_corpus(
        root, ["spam", "ham"], min_docs_per_label=1, on_read=lambda *p: heard.append(p)
    )
    assert len(corpus.documents) == 500
    assert heard[0] == (0, 501) and heard[-1] == (501, 501)
    assert {total for _, total in heard} == {501}
    read = [done for done, _ in heard]
    assert read == sorted(read) and len(heard) <= 102  # a hundredth at a time, not every file


def shared_folder(tmp_path: Path, shared_count: int, own_count: int = 40) -> Path:
    shared = [f"a text about both subjects, number {i}" for i in range(shared_count)]
    return make_labeled_folder(
        tmp_path,
        {
            "spam": [*distinct_texts("spam", own_count), *shared],
            "ham": [*shared, *distinct_texts("ham", own_count)],
        },
    )


def test_multi_mode_gives_a_shared_text_every_label_whose_folder_holds_it(tmp_path: Path) -> None:
    root = shared_folder(tmp_path, shared_count=2, own_count=3)
    corpus = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=5, mode="multi")
    carried = {doc.text: doc.label_set for doc in corpus.documents}
    assert len(corpus.documents) == 8
    assert carried["a text about both subjects, number 0"] == ("spam", "ham")
    assert sum(1 for labels in carried.values() if labels == ("ham",)) == 3
    assert corpus.report.mode == "multi"
    assert corpus.report.shared_documents == 2
    assert [(r.used, r.skipped) for r in corpus.report.labels] == [(5, {}), (5, {})]


def test_auto_mode_reads_multi_label_from_one_percent_of_shared_texts(tmp_path: Path) -> None:
    many = inspect_corpus(
        shared_folder(tmp_path / "many", shared_count=1), ["spam", "ham"], min_docs_per_label=1, mode="auto"
    )  # fmt: skip
    assert many.report.mode == "multi"
    assert "1 of 81 documents (1.2 %)" in str(many.report.mode_note)
    few = inspect_corpus(
        shared_folder(tmp_path / "few", shared_count=1, own_count=60),
        ["spam", "ham"],
        min_docs_per_label=1,
        mode="auto",
    )
    assert few.report.mode == "single"
    assert "0.8 %" in str(few.report.mode_note)
    assert all(len(doc.label_set) == 1 for doc in few.documents)


def test_fingerprint_counts_every_label_of_a_multi_label_document(tmp_path: Path) -> None:
    root = shared_folder(tmp_path, shared_count=2, own_count=3)
    multi = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1, mode="multi")
    single = inspect_corpus(root, ["spam", "ham"], min_docs_per_label=1, mode="single")
    assert multi.fingerprint != single.fingerprint


def test_visible_characters_are_those_that_are_not_whitespace() -> None:
    """Counted by splitting at whitespace, which must agree with `str.isspace` everywhere."""
    from custom_classifier.corpus.reader import visible_chars

    every_character = "".join(map(chr, range(0x110000)))
    expected = sum(1 for char in every_character if not char.isspace())
    assert visible_chars(every_character) == expected
    assert visible_chars(" \t\u00a0\u2003x\u3000y\n") == 2
