from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from custom_classifier.inference.text_classifier import ONNX_FILE, TextClassifier, pad_windows
from custom_classifier.training.onnx_export import export_fp32, export_onnx
from factories import make_tiny_classifier, make_topic_documents

LABELS = ["sport", "finance", "cooking"]


@pytest.fixture(scope="module")
def exported(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = make_tiny_classifier(tmp_path_factory.mktemp("onnx"), tiny_base_model, LABELS)
    assert export_onnx(model_dir) == model_dir / ONNX_FILE
    return model_dir


def test_the_export_keeps_a_worker_log_quiet(
    tiny_base_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_dir = make_tiny_classifier(tmp_path, tiny_base_model, LABELS)
    with caplog.at_level(logging.INFO):  # a worker logs at INFO
        assert export_onnx(model_dir) == model_dir / ONNX_FILE
    quantizer = [r for r in caplog.records if "onnxruntime" in r.pathname]
    assert quantizer == [], [r.getMessage() for r in quantizer[:3]]


def texts() -> list[str]:
    documents = make_topic_documents(dict.fromkeys(LABELS, 5), words=20, seed=7)
    return [d.text for d in documents] + ["", "goal " * 200]


def test_the_float_graph_computes_the_pytorch_logits(exported: Path, tmp_path: Path) -> None:
    import onnxruntime as ort

    export_fp32(exported, tmp_path / "fp32.onnx")
    session = ort.InferenceSession(str(tmp_path / "fp32.onnx"))
    torch_model = TextClassifier.load(exported, backend="torch")
    windows, _ = torch_model.windows(texts())

    reference = torch_model.window_logits(windows, batch_size=4)
    ids, mask = pad_windows(windows, 0)
    logits = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    assert np.allclose(logits, reference, atol=1e-4)


def test_the_onnx_backend_is_the_cpu_default_and_close_to_pytorch(exported: Path) -> None:
    fast = TextClassifier.load(exported)
    reference = TextClassifier.load(exported, backend="torch")

    assert fast.backend == "onnx" and reference.backend == "torch"
    fast_p, reference_p = fast.predict_proba(texts()), reference.predict_proba(texts())
    assert np.allclose(fast_p, reference_p, atol=0.02)
    assert np.allclose(fast_p.sum(axis=1), 1.0)


def test_without_onnxruntime_prediction_falls_back_to_pytorch(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import custom_classifier.inference.window_scorers as module

    monkeypatch.setattr(module, "onnx_runtime_available", lambda: False)

    classifier = TextClassifier.load(exported)

    assert classifier.backend == "torch"
    assert classifier.predict_proba(["goal"]).shape == (1, 3)


def test_the_onnx_backend_without_the_file_says_how_to_fix_it(
    tiny_base_model: Path, tmp_path: Path
) -> None:
    model_dir = make_tiny_classifier(tmp_path, tiny_base_model, LABELS)

    with pytest.raises(FileNotFoundError, match="export_onnx"):
        TextClassifier.load(model_dir, backend="onnx")
    assert TextClassifier.load(model_dir).backend == "torch"


def test_without_the_onnx_package_no_file_is_written(
    tiny_base_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = make_tiny_classifier(tmp_path, tiny_base_model, LABELS)
    monkeypatch.setitem(sys.modules, "onnxruntime.quantization", None)

    assert export_onnx(model_dir) is None
    assert not (model_dir / ONNX_FILE).exists()


def test_bf16_autocast_on_the_cpu_is_an_option(exported: Path) -> None:
    classifier = TextClassifier.load(exported, backend="torch-bf16")
    reference = TextClassifier.load(exported, backend="torch")

    assert classifier.backend == "torch-bf16"
    assert np.allclose(
        classifier.predict_proba(texts()), reference.predict_proba(texts()), atol=0.02
    )
