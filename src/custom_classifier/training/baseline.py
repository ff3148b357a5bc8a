"""A TF-IDF + logistic-regression baseline, to show what fine-tuning adds (one-vs-rest, one
logistic regression per label, for a multi-label classifier)."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer

from custom_classifier.corpus.models import Document
from custom_classifier.training.evaluation import (
    Evaluation,
    evaluate_multilabel,
    evaluate_predictions,
)

# Word n-grams seen in a single document are mostly noise, but tiny corpora need them all.
_MIN_DOCS_FOR_MIN_DF_2 = 200


def train_baseline(
    train_docs: Sequence[Document], test_docs: Sequence[Document], labels: Sequence[str]
) -> Evaluation:
    """Fit TF-IDF (words and word pairs) + balanced logistic regression; score it on `test_docs`."""
    predicted = baseline_predictions(train_docs, test_docs)
    return evaluate_predictions([d.label for d in test_docs], predicted, labels)


def baseline_predictions(
    train_docs: Sequence[Document], test_docs: Sequence[Document]
) -> list[str]:
    """The baseline's label for each of `test_docs` (for paired comparisons with the model)."""
    classifier = LogisticRegression(class_weight="balanced", max_iter=1000)
    pipeline = make_pipeline(_vectorizer(len(train_docs)), classifier)
    pipeline.fit([d.text for d in train_docs], [d.label for d in train_docs])
    predicted = pipeline.predict([d.text for d in test_docs]) if test_docs else []
    return [str(label) for label in predicted]


def train_multilabel_baseline(
    train_docs: Sequence[Document], test_docs: Sequence[Document], labels: Sequence[str]
) -> Evaluation:
    """Fit TF-IDF + one balanced logistic regression per label; score it on `test_docs`."""
    predicted = multilabel_baseline_predictions(train_docs, test_docs, labels)
    return evaluate_multilabel([d.label_set for d in test_docs], predicted, labels)


def multilabel_baseline_predictions(
    train_docs: Sequence[Document], test_docs: Sequence[Document], labels: Sequence[str]
) -> list[list[str]]:
    """The one-vs-rest baseline's label set for each of `test_docs` (each label at 0.5)."""
    binarizer = MultiLabelBinarizer(classes=list(labels))
    targets = binarizer.fit_transform([d.label_set for d in train_docs])
    classifier = OneVsRestClassifier(LogisticRegression(class_weight="balanced", max_iter=1000))
    pipeline = make_pipeline(_vectorizer(len(train_docs)), classifier)
    pipeline.fit([d.text for d in train_docs], targets)
    if not test_docs:
        return []
    decisions = pipeline.predict([d.text for d in test_docs])
    return [list(row) for row in binarizer.inverse_transform(decisions)]


def _vectorizer(train_documents: int) -> TfidfVectorizer:
    return TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, 2),
        min_df=2 if train_documents >= _MIN_DOCS_FOR_MIN_DF_2 else 1,
        max_features=200_000,
    )
