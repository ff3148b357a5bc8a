"""Logged models, registered versions, aliases and per-owner isolation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from custom_classifier.errors import ClassifierNotFoundError, ModelNotFoundError
from custom_classifier.registry import Registry, registered_model_name
from factories import TINY_LABELS, log_classifier_run


def test_registered_names_are_prefixed_by_their_owner() -> None:
    assert registered_model_name("alice", "spam-filter") == "alice.spam-filter"
    assert registered_model_name(None, "spam-filter") == "spam-filter"
    assert Registry.registered_model_name("bob", "x") == "bob.x"


def test_a_logged_model_loads_by_run_alias_and_version(
    registry: Registry, tiny_classifier_dir: Path
) -> None:
    run_id = log_classifier_run(registry, tiny_classifier_dir)
    assert registry.register(run_id, "alice", "spam-filter") == 1

    for uri in (
        f"runs:/{run_id}/model",
        "models:/alice.spam-filter@champion",
        "models:/alice.spam-filter/1",
    ):
        classifier = registry.load_text_classifier(uri)
        assert classifier.labels == TINY_LABELS
        probabilities = classifier.predict_proba(["win a free phone", "lunch at noon?"])
        assert probabilities.shape == (2, 2)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_registering_again_moves_champion_and_an_alias_can_move_back(
    registry: Registry, tiny_classifier_dir: Path
) -> None:
    first = log_classifier_run(registry, tiny_classifier_dir, metrics={"test_macro_f1": 0.8})
    second = log_classifier_run(
        registry, tiny_classifier_dir, metrics={"test_macro_f1": 0.9, "test_accuracy": 0.95}
    )

    assert registry.register(first, "alice", "spam-filter") == 1
    assert registry.register(second, "alice", "spam-filter") == 2

    classifier = registry.get_classifier("alice", "spam-filter")
    assert (classifier.name, classifier.registered_name) == ("spam-filter", "alice.spam-filter")
    assert classifier.aliases == {"champion": 2}
    assert [(v.version, v.run_id, v.aliases) for v in classifier.versions] == [
        (2, second, ["champion"]),
        (1, first, []),
    ]
    assert classifier.versions[0].metrics == {"macro_f1": 0.9, "accuracy": 0.95}
    assert classifier.versions[1].metrics == {"macro_f1": 0.8}
    assert registry.find_run(second).outcome == "accepted"  # type: ignore[union-attr]

    registry.set_alias("alice", "spam-filter", "champion", 1)

    champion = registry.get_classifier("alice", "spam-filter").champion
    assert champion is not None and champion.version == 1
    assert registry.resolve_alias("models:/alice.spam-filter@champion") == (
        "models:/alice.spam-filter/1"
    )


def test_each_owner_sees_only_their_classifiers(
    registry: Registry, tiny_classifier_dir: Path
) -> None:
    for owner in ("alice", "bob", None):
        run_id = log_classifier_run(registry, tiny_classifier_dir, owner=owner, name="spam-filter")
        registry.register(run_id, owner, "spam-filter")
    alice_only = log_classifier_run(registry, tiny_classifier_dir, owner="alice", name="invoices")
    registry.register(alice_only, "alice", "invoices")

    assert [c.name for c in registry.list_classifiers("alice")] == ["invoices", "spam-filter"]
    assert [c.registered_name for c in registry.list_classifiers("bob")] == ["bob.spam-filter"]
    assert [c.registered_name for c in registry.list_classifiers(None)] == ["spam-filter"]
    assert registry.list_classifiers("carol") == []
    with pytest.raises(ClassifierNotFoundError):
        registry.get_classifier("bob", "invoices")
    with pytest.raises(ClassifierNotFoundError):
        registry.set_alias("bob", "invoices", "champion", 1)
    run = registry.find_run(alice_only)
    assert run is not None and run.owner == "alice"


def test_set_alias_refuses_a_missing_version(registry: Registry, tiny_classifier_dir: Path) -> None:
    registry.register(log_classifier_run(registry, tiny_classifier_dir), "alice", "spam-filter")

    with pytest.raises(ModelNotFoundError):
        registry.set_alias("alice", "spam-filter", "champion", 7)


def test_a_missing_model_is_a_clear_not_found_error(
    registry: Registry, tiny_classifier_dir: Path
) -> None:
    with registry.start_run("alice", "no-model") as run:
        pass
    registry.register(log_classifier_run(registry, tiny_classifier_dir), "alice", "spam-filter")

    for uri in (
        f"runs:/{'0' * 32}/model",
        f"runs:/{run.run_id}/model",
        "models:/nobody.nothing/1",
        "models:/alice.spam-filter/9",
        "models:/alice.spam-filter@staging",
    ):
        with pytest.raises(ModelNotFoundError, match="no model found at") as caught:
            registry.load_text_classifier(uri)
        assert caught.value.details == {"model_uri": uri}
