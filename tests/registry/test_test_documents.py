"""A run's test documents read back as the champion's, for the next training's split."""

from __future__ import annotations

from pathlib import Path

from custom_classifier.corpus.models import TestDocuments
from custom_classifier.registry import Registry
from custom_classifier.registry.test_documents import find_champion_test, log_test_documents
from factories import log_classifier_run


def test_the_champions_test_documents_are_found_and_an_older_champion_has_none(
    registry: Registry, tiny_classifier_dir: Path
) -> None:
    assert find_champion_test(registry, "alice", "spam-filter") is None  # no classifier yet
    registry.register(log_classifier_run(registry, tiny_classifier_dir), "alice", "spam-filter")
    assert find_champion_test(registry, "alice", "spam-filter") is None  # none recorded
    documents = TestDocuments({"ab12": "spam/1.txt", "cd34": "ham/7.eml"})
    with registry.start_run("alice", "spam-filter") as run:
        log_test_documents(run, documents)
        run.log_classifier_model(tiny_classifier_dir)
    registry.register(run.run_id, "alice", "spam-filter")

    frozen = find_champion_test(registry, "alice", "spam-filter")

    assert frozen is not None and frozen.version == 2 and frozen.documents == documents
    assert find_champion_test(registry, "bob", "spam-filter") is None  # someone else's name
