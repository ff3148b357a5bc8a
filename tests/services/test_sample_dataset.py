"""The sample data set: what it holds, and that its options, trained end to end as the
new-classifier form submits them, give a model that is confidently right on obvious messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_classifier.config import Settings
from custom_classifier.corpus.reader import inspect_corpus
from custom_classifier.jobs.contract import TrainingRequest
from custom_classifier.jobs.training_run import TrainingOutcome, run_training
from custom_classifier.services.sample_dataset import (
    OBVIOUS_MESSAGES,
    PER_LABEL,
    SAMPLE_CLASSIFIER_NAME,
    SAMPLE_TRAINING,
    create_sample_dataset,
    generate_sample_texts,
)
from custom_classifier.training.arguments import TrainingArguments

CONFIDENT = 0.8


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


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainingOutcome]:
    """The sample trained with its own options on the embedded defaults (the bundled MiniLM)."""
    settings = Settings(home=tmp_path_factory.mktemp("sample-home"))
    info = create_sample_dataset(settings, "admin")
    request = TrainingRequest(
        name=SAMPLE_CLASSIFIER_NAME,
        location=info.location,
        labels=list(info.labels),
        owner="admin",
        training=TrainingArguments(**SAMPLE_TRAINING),  # type: ignore[arg-type]
    )
    return settings, run_training(request, settings)


@pytest.mark.e2e
def test_the_sample_is_accepted_and_registered(trained: tuple[Settings, TrainingOutcome]) -> None:
    _, outcome = trained
    assert outcome.accepted, outcome.reasons
    assert outcome.registered_model is not None
    assert outcome.metrics["macro_f1"] >= 0.95
    # Held-out as its options ask: k-fold would add five trainings to its minute or two.
    assert outcome.gate is not None and outcome.gate["evaluation"]["method"] == "holdout"


@pytest.mark.e2e
def test_obvious_messages_get_their_label_with_a_high_score(
    trained: tuple[Settings, TrainingOutcome],
) -> None:
    from custom_classifier.inference.predictor import Predictor
    from custom_classifier.registry.connect import open_registry

    settings, outcome = trained
    predictor = Predictor(open_registry(settings))
    wrong = []
    for label, messages in OBVIOUS_MESSAGES.items():
        for message, answer in zip(
            messages,
            predictor.predict_texts(f"runs:/{outcome.run_id}/model", messages),
            strict=True,
        ):
            if answer["label"] != label or answer["score"] <= CONFIDENT:
                wrong.append((message, label, answer["label"], round(answer["score"], 3)))
    assert wrong == []
