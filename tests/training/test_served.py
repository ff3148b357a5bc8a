"""The served artifact is judged: an int8 file that disagrees with the exact model is dropped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from custom_classifier.inference.classifier_folder import CLASSIFIER_FILE, ONNX_FILE
from custom_classifier.inference.text_classifier import TextClassifier
from custom_classifier.training.onnx_export import export_onnx
from custom_classifier.training.served import score_served_artifact
from factories import make_tiny_classifier, make_topic_documents

LABELS = ["sport", "finance"]


def _swap_the_heads_labels(onnx_file: Path) -> None:
    """Corrupt the quantized weights: the head's two output channels (weights, scales, zero
    points, bias) trade places, so the int8 file gives the other label for every document."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(onnx_file)
    for tensor in model.graph.initializer:
        if tensor.name.startswith("classifier."):
            values = numpy_helper.to_array(tensor)
            swapped = np.ascontiguousarray(values[..., ::-1])
            tensor.CopyFrom(numpy_helper.from_array(swapped, tensor.name))
    onnx.save(model, onnx_file)


@pytest.fixture
def classifier_dir(tiny_base_model: Path, tmp_path: Path) -> Path:
    folder = make_tiny_classifier(tmp_path / "classifier", tiny_base_model, LABELS)
    assert export_onnx(folder) is not None
    return folder


def test_an_int8_file_that_disagrees_is_dropped_and_the_exact_model_serves(
    classifier_dir: Path,
) -> None:
    texts = [doc.text for doc in make_topic_documents(dict.fromkeys(LABELS, 10))]
    exact = TextClassifier.load(classifier_dir, backend="torch").predict(texts)
    truth = [p["label"] for p in exact]  # the exact model is right by construction
    _swap_the_heads_labels(classifier_dir / ONNX_FILE)

    scores = score_served_artifact(classifier_dir, texts, truth, texts[:4], LABELS)

    check = scores.check
    assert check.backend == "torch"
    assert check.int8_macro_f1 is not None and check.int8_macro_f1 < check.exact_macro_f1
    assert check.agreement is not None and check.agreement < 0.99
    assert check.reason is not None and "int8" in check.reason
    assert not (classifier_dir / ONNX_FILE).exists()
    recorded = json.loads((classifier_dir / CLASSIFIER_FILE).read_text())
    assert recorded["served"] == {"cpu_backend": "torch", "reason": check.reason}
    assert TextClassifier.load(classifier_dir).backend == "torch"  # every loader, the same
    assert scores.test_logits.shape == (20, 2) and scores.validation_logits.shape == (4, 2)
