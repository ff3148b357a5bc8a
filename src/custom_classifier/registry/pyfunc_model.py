"""The MLflow pyfunc model, logged *from code*: MLflow executes this file to load the model.

It is shipped inside the model together with `text_classifier.py` (a code path), so that the
model loads in a plain Python environment without the `custom_classifier` package installed.
Do not import this module: `registry.packaging` passes its path to MLflow.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

try:
    from custom_classifier.inference.label_paths import max_levels
    from custom_classifier.inference.text_classifier import TextClassifier
except ImportError:  # loaded from the model's code folder, without our package
    from label_paths import max_levels  # type: ignore[no-redef]
    from text_classifier import TextClassifier  # type: ignore[no-redef]

CLASSIFIER_ARTIFACT = "classifier"
TEXT_COLUMN = "text"
PROBABILITY_COLUMNS = "probability_columns"
"""model_config key: {label: output column}, chosen by `registry.packaging` with the signature."""


def input_texts(model_input: Any) -> list[str]:
    """Texts of a DataFrame's `text` column, a Series or a list of strings."""
    if isinstance(model_input, pd.DataFrame):
        column = TEXT_COLUMN if TEXT_COLUMN in model_input.columns else model_input.columns[0]
        model_input = model_input[column]
    if isinstance(model_input, str):
        model_input = [model_input]
    return ["" if text is None else str(text) for text in list(model_input)]


class TextClassifierModel(PythonModel):
    """Wraps a `TextClassifier`; `unwrap_python_model().classifier` gives it back."""

    classifier: TextClassifier
    columns: dict[str, str]

    def load_context(self, context: Any) -> None:
        self.classifier = TextClassifier.load(context.artifacts[CLASSIFIER_ARTIFACT])
        configured = (context.model_config or {}).get(PROBABILITY_COLUMNS) or {}
        self.columns = {label: configured.get(label, label) for label in self.classifier.labels}

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """MLflow passes a DataFrame (signature: a `text` column); lists and Series work too.
        A multi-label model adds a `labels` column (each row: the labels at or above their
        thresholds, best first; `label` is the first of them)."""
        if self.classifier.multi_label:
            return self._predict_label_sets(input_texts(model_input))
        probabilities = self.classifier.predict_proba(input_texts(model_input))
        labels = self.classifier.labels
        best = probabilities.argmax(axis=1) if len(probabilities) else []
        frame = pd.DataFrame(
            {
                "label": [
                    labels[i] if probabilities[row, i] >= self.classifier.min_score else None
                    for row, i in enumerate(best)
                ],
                "score": [float(probabilities[row, i]) for row, i in enumerate(best)],
            }
        )
        for index, label in enumerate(labels):
            frame[self.columns[label]] = probabilities[:, index].astype(float)
        if self.classifier.hierarchical:
            for name, values in path_columns(self.classifier, probabilities).items():
                frame[name] = values
        return frame

    def _predict_label_sets(self, texts: list[str]) -> pd.DataFrame:
        predictions = self.classifier.predict(texts)
        frame = pd.DataFrame(
            {
                "label": [p["label"] for p in predictions],
                "score": [p["score"] for p in predictions],
                "labels": [p["labels"] for p in predictions],
            }
        )
        for label in self.classifier.labels:
            frame[self.columns[label]] = [float(p["scores"][label]) for p in predictions]
        return frame


def path_columns(classifier: TextClassifier, probabilities: Any) -> dict[str, list[Any]]:
    """A hierarchical classifier's `label` and `score` (the end of the path) and, per level,
    `level_<n>` (the node) and `level_<n>_score` (None below a shallower label)."""
    labels = classifier.labels
    rows = [
        classifier.with_path({"scores": dict(zip(labels, map(float, row), strict=True))})
        for row in probabilities
    ]
    columns: dict[str, list[Any]] = {
        "label": [row["label"] for row in rows],
        "score": [row["score"] for row in rows],
    }
    for level in range(1, max_levels(labels) + 1):
        steps = [row["path"][level - 1] if len(row["path"]) >= level else None for row in rows]
        columns[f"level_{level}"] = [step and step["label"] for step in steps]
        columns[f"level_{level}_score"] = [step and step["score"] for step in steps]
    return columns


set_model(TextClassifierModel())
