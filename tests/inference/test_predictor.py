"""Predictions through the registry, with the cache of loaded models."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from custom_classifier.errors import InvalidRequestError, ModelNotFoundError
from custom_classifier.inference.cache import ModelCache
from custom_classifier.inference.predictor import Predictor, resolve_model_uri
from custom_classifier.registry import Registry
from factories import TINY_LABELS, log_classifier_run

RUN_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("ref", "uri"),
    [
        (RUN_ID, f"runs:/{RUN_ID}/model"),
        (f"runs:/{RUN_ID}/model", f"runs:/{RUN_ID}/model"),
        ("models:/alice.spam/1", "models:/alice.spam/1"),
        ("models:/alice.spam@champion", "models:/alice.spam@champion"),
    ],
)
def test_model_references_resolve_to_uris(ref: str, uri: str) -> None:
    assert resolve_model_uri(ref) == uri


@pytest.mark.parametrize(
    "ref", ["", "spam", RUN_ID[:-1], "models:/alice.spam", "s3://bucket/model", "/etc/passwd"]
)
def test_anything_else_is_an_invalid_request(ref: str) -> None:
    with pytest.raises(InvalidRequestError, match="not a model reference"):
        resolve_model_uri(ref)


@pytest.fixture
def champion(registry: Registry, tiny_classifier_dir: Path) -> str:
    run_id = log_classifier_run(registry, tiny_classifier_dir)
    registry.register(run_id, "alice", "spam-filter")
    return run_id


def test_predictions_have_a_label_a_score_and_probabilities_summing_to_one(
    registry: Registry, champion: str
) -> None:
    predictor = Predictor(registry)

    results = predictor.predict_texts("models:/alice.spam-filter@champion", ["free money", "hi"])

    assert len(results) == 2
    for result in results:
        assert result["label"] in TINY_LABELS
        assert set(result["scores"]) == set(TINY_LABELS)
        assert sum(result["scores"].values()) == pytest.approx(1.0)
        assert result["score"] == max(result["scores"].values())
    assert predictor.predict_texts(champion, []) == []


def test_loaded_models_are_cached_by_version(registry: Registry, champion: str) -> None:
    predictor = Predictor(registry, cache_size=4)

    predictor.predict_texts("models:/alice.spam-filter@champion", ["a"])
    predictor.predict_texts("models:/alice.spam-filter/1", ["b"])
    predictor.predict_texts(champion, ["c"])
    predictor.predict_texts(f"runs:/{champion}/model", ["d"])

    stats = predictor.cache_stats()
    assert (stats.hits, stats.misses, stats.size) == (2, 2, 2)


def test_moving_the_champion_alias_takes_effect(
    registry: Registry, champion: str, tiny_classifier_dir: Path
) -> None:
    predictor = Predictor(registry)
    uri = "models:/alice.spam-filter@champion"
    first = predictor.classifier(uri)

    registry.register(log_classifier_run(registry, tiny_classifier_dir), "alice", "spam-filter")

    assert predictor.classifier(uri) is not first
    registry.set_alias("alice", "spam-filter", "champion", 1)
    assert predictor.classifier(uri) is first


def test_a_file_is_extracted_then_classified(registry: Registry, champion: str) -> None:
    result = Predictor(registry).predict_file(champion, "mail.txt", b"win a free phone today")

    assert result["label"] in TINY_LABELS
    assert sum(result["scores"].values()) == pytest.approx(1.0)


def test_a_missing_model_is_not_found(registry: Registry) -> None:
    predictor = Predictor(registry)

    with pytest.raises(ModelNotFoundError):
        predictor.predict_texts(RUN_ID, ["a"])
    with pytest.raises(ModelNotFoundError):
        predictor.predict_texts("models:/alice.nothing@champion", ["a"])
    assert predictor.cache_stats().size == 0


def test_texts_must_be_a_list_of_strings(registry: Registry) -> None:
    with pytest.raises(InvalidRequestError):
        Predictor(registry).predict_texts(RUN_ID, "one text")  # type: ignore[arg-type]


def test_the_cache_evicts_the_least_recently_used_model() -> None:
    cache: ModelCache[str] = ModelCache(2)
    cache.get("a", lambda: "A")
    cache.get("b", lambda: "B")
    cache.get("a", lambda: "A")  # "b" is now the least recently used
    cache.get("c", lambda: "C")

    assert cache.get("a", lambda: "reloaded") == "A"
    assert cache.get("b", lambda: "reloaded") == "reloaded"
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.size, stats.capacity) == (2, 4, 2, 2)


def test_concurrent_requests_load_a_cold_model_once() -> None:
    cache: ModelCache[object] = ModelCache(2)
    loads: list[int] = []
    started = threading.Barrier(4)

    def load() -> object:
        loads.append(1)
        return object()

    def request() -> None:
        started.wait()
        cache.get("model", load)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(loads) == 1
    assert cache.stats().misses == 1 and cache.stats().hits == 3


def test_a_min_score_set_on_an_alias_applies_at_once_and_only_to_its_version(
    registry: Registry, tiny_classifier_dir: Path
) -> None:
    for _ in range(2):
        registry.register(log_classifier_run(registry, tiny_classifier_dir), "alice", "spam-filter")
    registry.set_alias("alice", "spam-filter", "old", 1)
    predictor = Predictor(registry)
    champion, old = "models:/alice.spam-filter@champion", "models:/alice.spam-filter@old"
    assert predictor.predict_texts(champion, ["free money"])[0]["abstained"] is False  # cached

    assert registry.set_min_score("alice", "spam-filter", "champion", 1.0) == 2

    (unsure,) = predictor.predict_texts(champion, ["free money"])
    assert unsure["label"] is None and unsure["abstained"] is True
    assert set(unsure["scores"]) == set(TINY_LABELS)
    assert predictor.predict_texts("models:/alice.spam-filter/2", ["x"])[0]["abstained"] is True
    assert predictor.predict_texts(old, ["free money"])[0]["abstained"] is False
    assert predictor.cache_stats().misses == 2  # one load per version: no reload for the tag
    info = registry.get_classifier("alice", "spam-filter")
    assert [(v.version, v.min_score) for v in info.versions] == [(2, 1.0), (1, None)]
