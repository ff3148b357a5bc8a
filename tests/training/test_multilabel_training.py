"""Multi-label fine-tuning: one sigmoid per label trained with binary cross-entropy."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.inference.text_classifier import TextClassifier
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.loop import TrainingLoop
from custom_classifier.training.trainer import FineTuneResult, fine_tune
from custom_classifier.training.windows import encode_documents, positive_weights
from factories import make_multilabel_split

LABELS = ["sport", "finance", "cooking"]
# Binary cross-entropy diverges on the tiny random model at the 1e-2 single-label tests use.
FAST = TrainingArguments(
    epochs=12,
    learning_rate=5e-3,
    batch_size=8,
    max_length=32,
    warmup_ratio=0.0,
    early_stopping_patience=12,
    mode="multi",
    export_onnx=False,
)


@pytest.fixture(scope="module")
def trained(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> FineTuneResult:
    split = make_multilabel_split(LABELS, train=32, validation=6)
    return fine_tune(str(tiny_base_model), split, LABELS, FAST, tmp_path_factory.mktemp("run"))


def test_targets_are_a_row_of_labels_per_document(tiny_base_model: Path) -> None:
    from transformers import AutoTokenizer

    split = make_multilabel_split(LABELS, train=1)
    encoded = encode_documents(
        AutoTokenizer.from_pretrained(tiny_base_model), split.train, LABELS, FAST
    )
    assert encoded.doc_labels.tolist() == [
        [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]
    ]  # fmt: skip


def test_rare_labels_weigh_their_positives_up() -> None:
    targets = np.asarray([[1, 1], [0, 1], [0, 1], [0, 0]], dtype=np.float32)
    assert positive_weights(targets).tolist() == [3.0, pytest.approx(1 / 3)]
    assert positive_weights(np.ones((3, 1), dtype=np.float32)).tolist() == [1.0]


def test_the_loop_trains_with_binary_cross_entropy(tiny_base_model: Path) -> None:
    from custom_classifier.training.backbones import load_base_model

    tokenizer, model = load_base_model(str(tiny_base_model), LABELS, multi_label=True)
    split = make_multilabel_split(LABELS, train=2, validation=1)
    train = encode_documents(tokenizer, split.train, LABELS, FAST)
    validation = encode_documents(tokenizer, split.validation, LABELS, FAST)
    loop = TrainingLoop(model, tokenizer, replace(FAST, epochs=1), train, validation, LABELS)
    history, _ = loop.run(None)
    assert isinstance(loop.loss_fn, torch.nn.BCEWithLogitsLoss)
    # sport and cooking are in 2 of the 5 label groups, finance in 3
    assert loop.loss_fn.pos_weight.tolist() == pytest.approx([1.5, 2 / 3, 1.5])
    assert model.config.problem_type == "multi_label_classification"
    assert np.isfinite(history[0]["train_loss"]) and 0 < history[0]["val_loss"] < 5
    assert {"val_macro_f1", "val_micro_f1", "val_accuracy"} <= set(history[0])


def test_fine_tune_learns_label_sets(trained: FineTuneResult) -> None:
    settings = json.loads((trained.model_dir / "classifier.json").read_text())
    assert settings["multi_label"] is True
    classifier = TextClassifier.load(trained.model_dir, backend="torch")
    texts = [
        "football goal match team player coach league score",
        "football bank goal market match stock team bond",
    ]
    first, second = classifier.predict(texts)
    assert first["labels"] == ["sport"]
    assert sorted(second["labels"]) == ["finance", "sport"]
    assert set(second["scores"]) == set(LABELS)
    assert sum(second["scores"].values()) > 1.0  # independent sigmoids, not a softmax
    assert trained.history[-1]["val_micro_f1"] > 0.5


def test_thresholds_given_with_a_request_override_the_stored_ones(trained: FineTuneResult) -> None:
    classifier = TextClassifier.load(trained.model_dir, backend="torch")
    text = ["football goal match team player coach league score"]
    assert classifier.predict(text, thresholds=dict.fromkeys(LABELS, 1.0))[0]["labels"] == []
    everything = classifier.predict(text, thresholds=dict.fromkeys(LABELS, 0.0))[0]
    assert everything["labels"][0] == "sport" and len(everything["labels"]) == 3


def test_a_decoder_trains_multi_label_with_lora(tiny_decoder: Path, tmp_path: Path) -> None:
    split = make_multilabel_split(LABELS, train=4, validation=2)
    args = replace(FAST, epochs=1, max_length=16)
    result = fine_tune(str(tiny_decoder), split, LABELS, args, tmp_path)
    classifier = TextClassifier.load(result.model_dir, backend="torch")
    (answer,) = classifier.predict(["bank market stock bond"])
    assert classifier.multi_label and classifier.kind == "decoder"
    assert isinstance(answer["labels"], list) and set(answer["scores"]) == set(LABELS)
    assert result.adapter_dir is not None  # LoRA, the decoder default
