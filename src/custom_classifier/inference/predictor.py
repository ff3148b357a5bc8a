"""Predictions of registered or logged classifiers, with an in-process cache of loaded models."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from custom_classifier.errors import InvalidRequestError
from custom_classifier.inference.cache import CacheStats, ModelCache
from custom_classifier.inference.model_uris import run_model_uri

if TYPE_CHECKING:
    from custom_classifier.inference.text_classifier import TextClassifier
    from custom_classifier.registry.tracking import Registry

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_RUN_URI = re.compile(r"runs:/[0-9a-f]{32}/model")
_MODEL_URI = re.compile(r"models:/[^/@]+(/[1-9][0-9]*|@[A-Za-z0-9_\-]+)")


def resolve_model_uri(ref: str) -> str:
    """A run id -> `runs:/<id>/model`; `runs:/<id>/model`, `models:/<name>/<version>` and
    `models:/<name>@<alias>` unchanged; anything else is an `InvalidRequestError`."""
    ref = ref.strip()
    if _RUN_ID.fullmatch(ref):
        return run_model_uri(ref)
    if _RUN_URI.fullmatch(ref) or _MODEL_URI.fullmatch(ref):
        return ref
    raise InvalidRequestError(
        f"{ref!r} is not a model reference; expected a run id (32 hexadecimal characters), "
        "models:/<name>/<version> or models:/<name>@<alias>",
        details={"model": ref},
    )


class Predictor:
    """Loads models through the registry on first use and keeps `cache_size` of them."""

    def __init__(self, registry: Registry, cache_size: int = 4) -> None:
        self._registry = registry
        self._cache: ModelCache[TextClassifier] = ModelCache(cache_size)

    resolve_model_uri = staticmethod(resolve_model_uri)

    def classifier(self, model_uri: str) -> TextClassifier:
        """The loaded model; an alias is resolved first, so moving it takes effect at once."""
        return self._resolved(model_uri)[0]

    def _resolved(self, model_uri: str) -> tuple[TextClassifier, float | None]:
        """The loaded model and its version's abstain threshold, read on every call: a
        threshold changed after training applies at once, in every process. So does the CPU
        backend: once a version's int8 file has passed its check (`TAGS.cpu_backend`), the
        version is loaded again, with it."""
        resolved = self._registry.resolve_model(resolve_model_uri(model_uri))
        pinned = resolved.uri
        loaded = self._cache.get(
            resolved.cache_key, lambda: self._registry.load_text_classifier(pinned)
        )
        return loaded, resolved.min_score

    def predict_texts(
        self,
        model_uri: str,
        texts: Sequence[str],
        thresholds: dict[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """For each text: `{"label", "score", "scores"}` with probabilities summing to 1; a
        multi-label model adds `labels` (`thresholds` override its tuned ones, label by label)."""
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise InvalidRequestError("texts must be a list of strings")
        if not texts:
            return []
        classifier, min_score = self._resolved(model_uri)
        if thresholds:
            check_thresholds(classifier, thresholds)
        return classifier.predict(list(texts), min_score=min_score, thresholds=thresholds)

    def predict_file(
        self,
        model_uri: str,
        filename: str,
        data: bytes,
        thresholds: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """Extract the text of an uploaded document and classify it."""
        from custom_classifier.corpus.extract import extract_text_from_bytes

        text = extract_text_from_bytes(data, filename)
        return self.predict_texts(model_uri, [text], thresholds)[0]

    def cache_stats(self) -> CacheStats:
        return self._cache.stats()

    def clear_cache(self) -> None:
        self._cache.clear()


def check_thresholds(classifier: TextClassifier, thresholds: dict[str, float]) -> None:
    """`InvalidRequestError` for thresholds given to a single-label model or naming a label
    the model does not have."""
    if not classifier.multi_label:
        raise InvalidRequestError(
            "thresholds apply to multi-label classifiers only; this one gives one label per "
            "text: leave `thresholds` out (its `min_score` decides when it abstains)",
            details={"thresholds": sorted(thresholds)},
        )
    unknown = sorted(set(thresholds) - set(classifier.labels))
    if unknown:
        raise InvalidRequestError(
            f"thresholds name labels the classifier does not have: {', '.join(unknown)}; its "
            f"labels are {', '.join(classifier.labels)}",
            details={"unknown_labels": unknown, "labels": classifier.labels},
        )
