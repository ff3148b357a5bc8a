"""The sample data set: what it holds and where it is written."""

from __future__ import annotations

from pathlib import Path

from custom_classifier.config import Settings
from custom_classifier.corpus.reader import inspect_corpus
from custom_classifier.services.sample_dataset import (
    OBVIOUS_MESSAGES,
    PER_LABEL,
    create_sample_dataset,
    generate_sample_texts,
)


def test_the_sample_is_the_same_every_time_and_its_labels_share_no_message() -> None:
    texts = generate_sample_texts()
    assert texts == generate_sample_texts()
    assert sorted(texts) == sorted(OBVIOUS_MESSAGES)
    assert all(len(set(messages)) == PER_LABEL for messages in texts.values())
    everything = [message for messages in texts.values() for message in messages]
    assert len(set(everything)) == len(everything)


def test_no_obvious_message_is_in_the_sample() -> None:
    written = {message for messages in generate_sample_texts().values() for message in messages}
    assert not written & {m for messages in OBVIOUS_MESSAGES.values() for m in messages}


def test_the_sample_is_written_once_into_the_users_area_and_is_valid(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    info = create_sample_dataset(settings, "alice")
    assert info.labels == dict.fromkeys(sorted(OBVIOUS_MESSAGES), PER_LABEL)
    assert create_sample_dataset(settings, "alice") == info
    corpus = inspect_corpus(
        Path(info.location), list(info.labels), min_docs_per_label=settings.min_docs_per_label
    )
    assert corpus.report.problems == []
