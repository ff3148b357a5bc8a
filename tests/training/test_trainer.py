from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from custom_classifier.corpus.models import Document, Split
from custom_classifier.errors import BaseModelError, TrainingCancelledError, TrainingError
from custom_classifier.inference.text_classifier import (
    ONNX_FILE,
    TextClassifier,
)
from custom_classifier.training import trainer
from custom_classifier.training.arguments import Progress, TrainingArguments
from custom_classifier.training.trainer import FineTuneResult, fine_tune
from factories import FROZEN_LEARNING_RATE, make_topic_documents, make_topic_split

LABELS = ["sport", "finance"]
# A tiny random model needs a large learning rate to learn in a few epochs.
FAST = TrainingArguments(
    epochs=4,
    learning_rate=1e-2,
    batch_size=8,
    max_length=32,
    warmup_ratio=0.0,
    early_stopping_patience=4,
)


class Recorder:
    def __init__(self) -> None:
        self.progress: list[Progress] = []
        self.epochs: list[tuple[int, dict[str, float]]] = []

    def on_progress(self, progress: Progress) -> None:
        self.progress.append(progress)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs.append((epoch, metrics))


@pytest.fixture(scope="module")
def trained(
    tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[FineTuneResult, Recorder]:
    recorder = Recorder()
    result = fine_tune(
        str(tiny_base_model),
        make_topic_split(LABELS, train=16, validation=6),
        LABELS,
        FAST,
        tmp_path_factory.mktemp("run"),
        on_progress=recorder.on_progress,
        on_epoch_end=recorder.on_epoch_end,
    )
    return result, recorder


def test_fine_tune_saves_a_classifier_that_predicts_labels(trained) -> None:
    result, _ = trained
    classifier = TextClassifier.load(result.model_dir)

    predictions = classifier.predict(["football match goal", "bank stock market", ""])

    assert (result.model_dir / "model.safetensors").is_file()
    settings = json.loads((result.model_dir / "classifier.json").read_text())
    assert settings == {
        "labels": LABELS,
        "max_length": 32,
        "long_document_strategy": "head",
        "chunk_stride": FAST.chunk_stride,
        "kind": "encoder",
    }
    assert [p["label"] for p in predictions[:2]] == ["sport", "finance"]
    for prediction in predictions:
        assert sum(prediction["scores"].values()) == pytest.approx(1.0)
        assert prediction["score"] == max(prediction["scores"].values())


def test_the_int8_onnx_model_predicts_the_labels_of_the_pytorch_model(trained) -> None:
    result, _ = trained
    texts = [d.text for d in make_topic_split(LABELS, test=20).test] + ["", "goal bank " * 30]

    fast = TextClassifier.load(result.model_dir)
    reference = TextClassifier.load(result.model_dir, backend="torch")

    assert (result.model_dir / ONNX_FILE).is_file() and fast.backend == "onnx"
    assert [p["label"] for p in fast.predict(texts)] == [
        p["label"] for p in reference.predict(texts)
    ]


def test_no_onnx_model_when_the_export_is_off(tiny_base_model: Path, tmp_path: Path) -> None:
    args = replace(FAST, epochs=1, export_onnx=False)

    result = fine_tune(str(tiny_base_model), make_topic_split(LABELS), LABELS, args, tmp_path)

    assert not (result.model_dir / ONNX_FILE).exists()
    assert TextClassifier.load(result.model_dir).backend == "torch"


def test_history_has_one_entry_per_epoch_and_the_best_epoch(trained) -> None:
    result, recorder = trained
    ran = len(result.history)
    f1 = [entry["val_macro_f1"] for entry in result.history]

    assert [entry["epoch"] for entry in result.history] == [float(e) for e in range(1, ran + 1)]
    assert [epoch for epoch, _ in recorder.epochs] == list(range(1, ran + 1))
    assert {"train_loss", "val_macro_f1", "val_accuracy"} <= recorder.epochs[0][1].keys()
    assert max(f1) == 1.0
    assert f1.index(1.0) == ran - 1  # a perfect validation macro-F1 ends the training
    assert result.history[result.best_epoch - 1]["val_macro_f1"] == 1.0
    assert result.train_seconds > 0


def test_progress_reports_increasing_steps_and_validation_scores(trained) -> None:
    result, recorder = trained
    # The first report comes before any step, with the total: a display shows the training
    # (0 of N) while the first steps run.
    start, *progress = recorder.progress
    assert (start.step, start.epoch, start.loss, start.eta_seconds) == (0, 0.0, None, None)
    assert start.total_steps == progress[-1].total_steps
    steps = [p.step for p in progress]
    steps_per_epoch = progress[-1].total_steps // FAST.epochs

    assert steps == sorted(steps) and steps[-1] == steps_per_epoch * len(result.history)
    assert all(p.eta_seconds is not None for p in progress)
    # Every step is a logging step here: each report has the loss of the steps since the last,
    # and the epoch's end (the validation report) has no step left to report.
    epoch_ends = [p for p in progress if p.validation is not None]
    assert all(p.loss is not None for p in progress if p.validation is None)
    assert all(p.loss is None for p in epoch_ends)
    assert [p.epoch for p in epoch_ends] == [float(e) for e in range(1, len(result.history) + 1)]
    assert set(epoch_ends[0].validation or {}) == {"macro_f1", "accuracy"}


def test_chunks_train_on_windows_and_predict_one_row_per_document(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    split = make_topic_split(LABELS, train=6, validation=2, words=60)
    args = replace(FAST, epochs=1, long_document_strategy="chunks", max_length=16, chunk_stride=4)

    result = fine_tune(str(tiny_base_model), split, LABELS, args, tmp_path)
    classifier = TextClassifier.load(result.model_dir)
    texts = [d.text for d in split.test] + ["goal"]
    probabilities = classifier.predict_proba(texts)

    assert classifier.long_document_strategy == "chunks" and classifier.chunk_stride == 4
    assert probabilities.shape == (len(texts), 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_training_stops_early_when_validation_stops_improving(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    frozen = replace(FAST, learning_rate=FROZEN_LEARNING_RATE, early_stopping_patience=1)

    result = fine_tune(str(tiny_base_model), make_topic_split(LABELS), LABELS, frozen, tmp_path)

    assert len(result.history) == 2
    assert result.best_epoch == 1


def test_should_stop_cancels_training(tiny_base_model: Path, tmp_path: Path) -> None:
    calls = iter([False, False, True])

    with pytest.raises(TrainingCancelledError, match="step 2"):
        fine_tune(
            str(tiny_base_model),
            make_topic_split(LABELS, train=16, validation=2),
            LABELS,
            FAST,
            tmp_path,
            should_stop=lambda: next(calls),
        )
    assert not (tmp_path / "model").exists()


def test_an_unknown_base_model_is_reported(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")

    with pytest.raises(BaseModelError, match="CC_BASE_MODEL") as caught:
        fine_tune(missing, make_topic_split(LABELS), LABELS, FAST, tmp_path)
    assert missing in caught.value.message


def test_a_cpu_training_unmaps_large_blocks_from_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(trainer, "unmap_large_blocks_on_free", lambda: calls.append(None))

    with pytest.raises(BaseModelError):  # before the base model is loaded
        fine_tune(str(tmp_path / "no-such-model"), make_topic_split(LABELS), LABELS, FAST, tmp_path)
    assert calls == [None]


def test_documents_with_unrequested_labels_are_refused(tiny_base_model: Path, tmp_path: Path):
    split = Split(train=make_topic_documents({"sport": 2, "cooking": 2}), validation=[], test=[])

    with pytest.raises(TrainingError, match="cooking"):
        fine_tune(str(tiny_base_model), split, LABELS, FAST, tmp_path)


def test_a_max_length_beyond_the_model_is_refused(tiny_base_model: Path, tmp_path: Path):
    args = replace(FAST, max_length=1024)

    with pytest.raises(TrainingError, match="at most 512"):
        fine_tune(str(tiny_base_model), make_topic_split(LABELS), LABELS, args, tmp_path)


def test_training_without_validation_keeps_the_last_epoch(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    split = Split(
        train=[Document("a", "sport", "goal"), Document("b", "finance", "bank")],
        validation=[],
        test=[],
    )

    result = fine_tune(str(tiny_base_model), split, LABELS, replace(FAST, epochs=2), tmp_path)

    assert result.best_epoch == 2
    assert "val_macro_f1" not in result.history[0]


def test_attention_dropout_is_switched_off_by_default_and_kept_when_asked(
    tiny_base_model: Path,
) -> None:
    from custom_classifier.training.trainer import load_base_model

    _, model = load_base_model(str(tiny_base_model), ["a", "b"], attention_dropout=0.0)
    assert model.config.attention_probs_dropout_prob == 0.0
    _, kept = load_base_model(str(tiny_base_model), ["a", "b"], attention_dropout=None)
    assert kept.config.attention_probs_dropout_prob == 0.1
    assert kept.config.id2label == {0: "a", 1: "b"}
