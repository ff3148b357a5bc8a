from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.inference.text_classifier import TextClassifier, build_windows
from custom_classifier.registry.packaging import MODEL_CODE_FILES
from factories import make_tiny_classifier

LABELS = ["sport", "finance", "cooking"]


@pytest.fixture(scope="module")
def classifier_dir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_classifier(tmp_path_factory.mktemp("head"), tiny_base_model, LABELS)


@pytest.fixture(scope="module")
def chunks_dir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_classifier(
        tmp_path_factory.mktemp("chunks"),
        tiny_base_model,
        LABELS,
        max_length=16,
        long_document_strategy="chunks",
        chunk_stride=4,
    )


def test_load_reads_the_classifier_settings(classifier_dir: Path) -> None:
    classifier = TextClassifier.load(classifier_dir)

    assert classifier.labels == LABELS
    assert classifier.max_length == 32
    assert classifier.long_document_strategy == "head"
    assert not classifier.model.training


def test_predict_returns_labels_with_probabilities(classifier_dir: Path) -> None:
    predictions = TextClassifier.load(classifier_dir).predict(["a goal", "", "bank " * 500])

    assert len(predictions) == 3
    for prediction in predictions:
        assert prediction["label"] in LABELS
        assert set(prediction["scores"]) == set(LABELS)
        assert sum(prediction["scores"].values()) == pytest.approx(1.0)
        assert prediction["score"] == prediction["scores"][prediction["label"]]
        assert prediction["abstained"] is False


def test_predict_proba_keeps_the_input_order(classifier_dir: Path) -> None:
    classifier = TextClassifier.load(classifier_dir)
    texts = ["one goal", "a much longer text about the bank and the stock market", "soup"]

    forward = classifier.predict_proba(texts, batch_size=2)
    backward = classifier.predict_proba(texts[::-1], batch_size=2)

    assert forward.shape == (3, 3)
    assert np.allclose(forward, backward[::-1], atol=1e-5)
    assert np.allclose(forward.sum(axis=1), 1.0)


def test_predict_proba_of_no_text_is_empty(classifier_dir: Path) -> None:
    assert TextClassifier.load(classifier_dir).predict_proba([]).shape == (0, 3)


def test_chunks_average_the_window_logits_of_each_document(chunks_dir: Path) -> None:
    classifier = TextClassifier.load(chunks_dir)
    long_text = "football match goal bank market " * 20

    probabilities = classifier.predict_proba([long_text, "soup"])

    windows, _ = build_windows(
        classifier.tokenizer, [long_text], max_length=16, strategy="chunks", stride=4
    )
    assert len(windows) > 1
    with torch.inference_mode():
        logits = torch.cat([classifier.model(torch.tensor([w.tolist()])).logits for w in windows])
    expected = torch.softmax(logits.mean(dim=0), dim=0).numpy()
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities[0], expected, atol=1e-5)


def _imports(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom | ast.Import)]


def _names(node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names]


@pytest.mark.parametrize("path", MODEL_CODE_FILES, ids=lambda path: path.name)
def test_the_model_code_files_need_nothing_but_each_other(path: Path) -> None:
    # They are shipped inside the MLflow model as its code files, without our package: an import
    # of ours must fall back (except ImportError) to the same names from a file shipped with it.
    shipped = {file.stem for file in MODEL_CODE_FILES}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        fallbacks = {
            (imported.module, alias.name)
            for handler in node.handlers
            if isinstance(handler.type, ast.Name) and handler.type.id == "ImportError"
            for imported in handler.body
            if isinstance(imported, ast.ImportFrom)
            for alias in imported.names
        }
        for imported in node.body:
            if not isinstance(imported, ast.ImportFrom):
                continue
            sibling = (imported.module or "").rpartition(".")[2]
            if sibling in shipped and all((sibling, a.name) in fallbacks for a in imported.names):
                guarded.add(id(imported))
    ours = [n for n in _imports(tree) if any(m.startswith("custom_classifier") for m in _names(n))]
    assert [ast.unparse(node) for node in ours if id(node) not in guarded] == []


def test_temperature_and_min_score_from_classifier_json(classifier_dir: Path) -> None:
    import json

    from custom_classifier.inference.classifier_folder import CLASSIFIER_FILE

    texts = ["a goal", "soup", "bank"]
    raw = TextClassifier.load(classifier_dir).predict_proba(texts)
    settings_file = classifier_dir / CLASSIFIER_FILE
    original = settings_file.read_text()
    settings = json.loads(original)
    try:
        settings_file.write_text(json.dumps({**settings, "temperature": 100.0, "min_score": 0.9}))
        cooled = TextClassifier.load(classifier_dir)
        probabilities = cooled.predict_proba(texts)
        predictions = cooled.predict(texts)
    finally:
        settings_file.write_text(original)

    assert (probabilities.argmax(axis=1) == raw.argmax(axis=1)).all()
    assert probabilities.max() < raw.max()  # a high temperature flattens the scores
    for prediction in predictions:  # 3 labels near 1/3 each: every one abstains
        assert prediction["label"] is None
        assert prediction["abstained"] is True
        assert sum(prediction["scores"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("served", "backend"),
    [({"cpu_backend": "pending"}, "torch"), ({"cpu_backend": "onnx"}, "onnx"), (None, "onnx")],
)
def test_an_int8_file_serves_only_once_it_has_passed_its_check(
    classifier_dir: Path, tmp_path: Path, served: dict[str, str] | None, backend: str
) -> None:
    import shutil

    from custom_classifier.inference.classifier_folder import update_settings
    from custom_classifier.training.onnx_export import export_onnx

    folder = shutil.copytree(classifier_dir, tmp_path / "copy")
    assert export_onnx(folder) is not None
    if served is not None:
        update_settings(folder, served=served)

    loaded = TextClassifier.load(folder, device=torch.device("cpu"))

    assert loaded.backend == backend
