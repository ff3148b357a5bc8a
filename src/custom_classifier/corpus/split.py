"""Stratified, seeded train / validation / test split that also works for tiny labels."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sklearn.model_selection import train_test_split

from custom_classifier.corpus.models import Document, Split
from custom_classifier.errors import InvalidRequestError


def split_corpus(
    documents: Sequence[Document],
    *,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    frozen_test: Collection[str] = (),
    seen: Collection[str] = (),
) -> Split:
    """Split each label on its own, so every part keeps the label proportions.

    Each label keeps at least one training document, and gets at least one validation and one
    test document whenever it has enough documents (3 for both; 2 gives test priority).
    Documents whose content hash is in `frozen_test` (the champion's test documents) are test
    documents, whatever their number; the label's other test documents, if it needs more, are
    drawn from documents whose hash is not in `seen` (those the champion never learned from)
    first; its validation and training documents from the rest as usual.
    """
    _check_fractions(validation_fraction, test_fraction)
    by_label: dict[str, list[Document]] = {}
    for document in documents:
        by_label.setdefault(document.label, []).append(document)
    train: list[Document] = []
    validation: list[Document] = []
    test: list[Document] = []
    for group in by_label.values():
        n_validation, n_test = part_sizes(len(group), validation_fraction, test_fraction)
        kept = [d for d in group if d.content_hash in frozen_test]
        rest = [d for d in group if d.content_hash not in frozen_test]
        rest, group_test = _take_unseen_first(rest, max(0, n_test - len(kept)), seen, seed)
        group_train, group_validation = _take(rest, min(n_validation, max(0, len(rest) - 1)), seed)
        train += group_train
        validation += group_validation
        test += kept + group_test
    return Split(train=train, validation=validation, test=test)


def part_sizes(count: int, validation_fraction: float, test_fraction: float) -> tuple[int, int]:
    """(validation, test) sizes for a label of `count` documents; the rest is for training."""
    n_test = int(count * test_fraction + 0.5)
    n_validation = int(count * validation_fraction + 0.5)
    if test_fraction > 0 and n_test == 0 and count >= 2:
        n_test = 1
    if validation_fraction > 0 and n_validation == 0 and count - n_test >= 2:
        n_validation = 1
    while n_test + n_validation > count - 1 and n_test + n_validation > 0:
        if n_validation >= n_test:
            n_validation -= 1
        else:
            n_test -= 1
    return n_validation, n_test


def _take_unseen_first(
    documents: list[Document], size: int, seen: Collection[str], seed: int
) -> tuple[list[Document], list[Document]]:
    """`_take`, drawing the documents not in `seen` first (all of them when too few)."""
    if not seen:
        return _take(documents, size, seed)
    unseen = [d for d in documents if d.content_hash not in seen]
    known = [d for d in documents if d.content_hash in seen]
    if size < len(unseen):
        rest, taken = _take(unseen, size, seed)
        return rest + known, taken
    rest, taken = _take(known, size - len(unseen), seed)
    return rest, unseen + taken


def _take(documents: list[Document], size: int, seed: int) -> tuple[list[Document], list[Document]]:
    if size == 0:
        return list(documents), []
    kept, taken = train_test_split(documents, test_size=size, random_state=seed, shuffle=True)
    return list(kept), list(taken)


def _check_fractions(validation_fraction: float, test_fraction: float) -> None:
    if not (0 <= validation_fraction < 1 and 0 <= test_fraction < 1) or (
        validation_fraction + test_fraction >= 1
    ):
        raise InvalidRequestError(
            "validation and test fractions must each be in [0, 1) and sum to less than 1; got "
            f"validation={validation_fraction}, test={test_fraction}. Lower them (default 0.1).",
            details={"validation_fraction": validation_fraction, "test_fraction": test_fraction},
        )
