from __future__ import annotations

from collections import Counter

import pytest

from custom_classifier.corpus.models import Document, TestDocuments
from custom_classifier.corpus.split import part_sizes, split_corpus
from custom_classifier.errors import InvalidRequestError


def documents(counts: dict[str, int]) -> list[Document]:
    return [
        Document(id=f"{label}/{index}.txt", label=label, text=f"{label} {index}")
        for label, count in counts.items()
        for index in range(count)
    ]


def label_counts(docs: list[Document]) -> Counter[str]:
    return Counter(doc.label for doc in docs)


def test_default_split_is_stratified_80_10_10() -> None:
    split = split_corpus(documents({"a": 100, "b": 50}))
    assert label_counts(split.train) == {"a": 80, "b": 40}
    assert label_counts(split.validation) == {"a": 10, "b": 5}
    assert label_counts(split.test) == {"a": 10, "b": 5}


def test_parts_are_disjoint_and_cover_every_document() -> None:
    docs = documents({"a": 37, "b": 23, "c": 11})
    ids = split_corpus(docs, seed=3).ids()
    all_ids = ids["train"] + ids["validation"] + ids["test"]
    assert sorted(all_ids) == sorted(doc.id for doc in docs)


def test_same_seed_same_split_other_seed_other_split() -> None:
    docs = documents({"a": 40, "b": 40})
    assert split_corpus(docs, seed=1).ids() == split_corpus(docs, seed=1).ids()
    assert split_corpus(docs, seed=1).ids() != split_corpus(docs, seed=2).ids()


def test_five_documents_per_label_give_every_part_each_label() -> None:
    split = split_corpus(documents({"a": 5, "b": 5, "c": 5}))
    for part in (split.train, split.validation, split.test):
        assert set(label_counts(part)) == {"a", "b", "c"}
    assert label_counts(split.train) == {"a": 3, "b": 3, "c": 3}


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, (0, 0)), (1, (0, 0)), (2, (0, 1)), (3, (1, 1)), (10, (1, 1)), (20, (2, 2))],
)
def test_tiny_labels_keep_a_training_document(count: int, expected: tuple[int, int]) -> None:
    assert part_sizes(count, 0.1, 0.1) == expected


def test_tiny_data_does_not_crash() -> None:
    split = split_corpus(documents({"a": 1, "b": 2}))
    assert label_counts(split.train) == {"a": 1, "b": 1}
    assert label_counts(split.test) == {"b": 1}
    assert split_corpus([]).ids() == {"train": [], "validation": [], "test": []}


def test_zero_fractions_put_everything_in_training() -> None:
    split = split_corpus(documents({"a": 10, "b": 10}), validation_fraction=0, test_fraction=0)
    assert (len(split.train), split.validation, split.test) == (20, [], [])


@pytest.mark.parametrize(("validation", "test"), [(0.5, 0.5), (-0.1, 0.1), (0.1, 1.0)])
def test_impossible_fractions_are_refused(validation: float, test: float) -> None:
    with pytest.raises(InvalidRequestError, match="fractions"):
        split_corpus(documents({"a": 10}), validation_fraction=validation, test_fraction=test)


def test_a_grown_folder_keeps_the_old_test_documents_out_of_training() -> None:
    before = split_corpus(documents({"a": 50, "b": 50}))
    frozen = before.test_documents()

    after = split_corpus(
        documents({"a": 80, "b": 70}), frozen_test=frozenset(frozen.paths), seen=frozen.seen
    )

    old_test = {doc.id for doc in before.test}
    assert old_test <= {doc.id for doc in after.test}
    assert not old_test & {doc.id for doc in after.train + after.validation}
    assert label_counts(after.test) == {"a": 8, "b": 7}  # topped up to the usual size
    added = {doc.id for doc in after.test} - old_test
    assert all(int(doc_id.split("/")[1].split(".")[0]) >= 50 for doc_id in added)  # new ones


def test_the_test_split_is_topped_up_with_documents_the_champion_never_saw_first() -> None:
    docs = documents({"a": 20})
    seen = {d.content_hash for d in docs[2:]}

    split = split_corpus(docs, frozen_test={docs[0].content_hash}, seen=seen)

    assert {d.id for d in split.test} == {docs[0].id, docs[1].id}


def test_frozen_test_documents_are_found_by_content_under_another_path() -> None:
    moved = [Document(id=f"moved/{d.id}", label=d.label, text=d.text) for d in documents({"a": 9})]
    frozen = {moved[0].content_hash, moved[1].content_hash}

    split = split_corpus(moved, frozen_test=frozen)

    assert {moved[0].id, moved[1].id} <= {doc.id for doc in split.test}
    assert len(split.train) >= 1


def test_test_documents_read_back_as_written() -> None:
    recorded = split_corpus(documents({"a": 20, "b": 20})).test_documents()

    assert TestDocuments.from_row(recorded.to_row()) == recorded
    assert len(recorded.seen) == 36 and not recorded.seen & set(recorded.paths)
    assert sorted(recorded.paths.values())[0].startswith("a/")
