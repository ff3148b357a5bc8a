"""The faster TF-IDF fit gives scikit-learn's matrix, vocabulary and weights exactly."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from custom_classifier.training.tfidf import FastTfidfVectorizer

WORDS = [f"w{n}" for n in range(60)] + ["Über", "naïve", "l'été", "x", "42", "a-b"]


def _corpus(documents: int, seed: int) -> list[str]:
    """Zipf-like word draws, so that some terms tie in frequency and many are rare."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return [
        " ".join(rng.choices(WORDS, weights, k=rng.randint(0, 40))) + rng.choice(["", ".", "!"])
        for _ in range(documents)
    ]


def _same_matrix(ours: Any, theirs: Any) -> None:
    assert ours.shape == theirs.shape
    for part in ("indptr", "indices", "data"):  # values, and their order within each row
        assert np.array_equal(getattr(ours, part), getattr(theirs, part))
        assert getattr(ours, part).dtype == getattr(theirs, part).dtype


SETTINGS = [
    {"sublinear_tf": True, "ngram_range": (1, 2), "min_df": 2, "max_features": 200_000},
    {"sublinear_tf": True, "ngram_range": (1, 2), "min_df": 2, "max_features": 150},
    {"ngram_range": (1, 1), "min_df": 1},
    {"ngram_range": (2, 3), "min_df": 1, "max_df": 0.5},
    {"ngram_range": (1, 3), "stop_words": ["w0", "w1"], "max_features": 40},
    {"ngram_range": (1, 2), "min_df": 3, "max_features": None, "lowercase": False},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_fit_and_the_transform_equal_scikit_learns(settings: dict[str, Any]) -> None:
    train, test = _corpus(300, seed=1), _corpus(50, seed=2) + ["w59 unseen words only"]
    ours, theirs = FastTfidfVectorizer(**settings), TfidfVectorizer(**settings)

    _same_matrix(ours.fit_transform(train), theirs.fit_transform(train))
    _same_matrix(ours.transform(test), theirs.transform(test))
    assert ours.vocabulary_ == theirs.vocabulary_
    assert np.array_equal(ours.idf_, theirs.idf_)


def test_a_limit_that_cuts_through_tied_frequencies_keeps_scikit_learns_terms() -> None:
    train = _corpus(200, seed=3)
    settings = {"ngram_range": (1, 2), "max_features": 300}
    counts = TfidfVectorizer(**{**settings, "max_features": None, "use_idf": False, "norm": None})
    frequencies = np.asarray(counts.fit_transform(train).sum(axis=0)).ravel()
    cut = np.sort(frequencies)[::-1][settings["max_features"] - 1]
    assert (frequencies == cut).sum() > 1  # the limit falls inside a tie

    ours = FastTfidfVectorizer(**settings).fit(train)
    assert ours.vocabulary_ == TfidfVectorizer(**settings).fit(train).vocabulary_


def test_no_terms_fail_as_scikit_learn_fails() -> None:
    for vectorizer in (FastTfidfVectorizer(), TfidfVectorizer()):
        with pytest.raises(ValueError, match="empty vocabulary"):
            vectorizer.fit(["a", "! ?"])
