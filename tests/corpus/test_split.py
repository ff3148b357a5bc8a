from __future__ import annotations

from collections import Counter

import pytest

from custom_classifier.corpus.models import Document
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
