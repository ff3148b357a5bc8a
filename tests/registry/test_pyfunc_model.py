"""The logged pyfunc model, as MLflow and other Python environments see it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from custom_classifier.registry.packaging import probability_columns, save_pyfunc_model
from factories import TINY_LABELS


@pytest.fixture(scope="module")
def pyfunc_dir(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pyfunc") / "model"
    save_pyfunc_model(tiny_classifier_dir, path)
    return path


def test_the_model_declares_its_signature_and_pinned_requirements(pyfunc_dir: Path) -> None:
    info = mlflow.models.get_model_info(str(pyfunc_dir))

    assert info.signature.inputs.input_names() == ["text"]
    assert info.signature.outputs.input_names() == ["label", "score", *TINY_LABELS]
    assert set(info.flavors) == {"python_function"}
    requirements = (pyfunc_dir / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in requirements} >= {"torch", "transformers", "numpy", "pandas"}
    assert all("==" in r and "+" not in r for r in requirements)
    assert (pyfunc_dir / "code" / "text_classifier.py").is_file()


def test_an_onnx_model_brings_onnxruntime_into_the_requirements(
    tiny_classifier_dir: Path, tmp_path: Path
) -> None:
    import shutil

    with_onnx = shutil.copytree(tiny_classifier_dir, tmp_path / "with-onnx")
    without_onnx = shutil.copytree(tiny_classifier_dir, tmp_path / "without-onnx")
    for onnx_file in without_onnx.glob("*.onnx"):
        onnx_file.unlink()
    if not any(with_onnx.glob("*.onnx")):
        (with_onnx / "model.int8.onnx").write_bytes(b"onnx")  # only its presence matters here

    for folder, expected in ((with_onnx, True), (without_onnx, False)):
        save_pyfunc_model(folder, tmp_path / f"pyfunc-{folder.name}")
        requirements = (tmp_path / f"pyfunc-{folder.name}" / "requirements.txt").read_text()
        assert ("onnxruntime==" in requirements) is expected


def test_the_pyfunc_predicts_one_row_per_text_with_the_signature_columns(
    pyfunc_dir: Path,
) -> None:
    model = mlflow.pyfunc.load_model(str(pyfunc_dir))

    output = model.predict(pd.DataFrame({"text": ["win money now", "see you at lunch"]}))

    assert list(output.columns) == ["label", "score", *TINY_LABELS]
    assert set(output["label"]) <= set(TINY_LABELS)
    assert output[TINY_LABELS].sum(axis=1).round(6).tolist() == [1.0, 1.0]
    assert (output["score"] == output[TINY_LABELS].max(axis=1)).all()
    unwrapped = model.unwrap_python_model()
    assert len(unwrapped.predict(None, ["a", "b", "c"])) == 3  # a plain list is fine too
    assert len(unwrapped.predict(None, pd.Series(["a"]))) == 1


def test_probability_columns_never_clash_with_label_and_score() -> None:
    assert probability_columns(["label", "score", "spam"]) == {
        "label": "proba_label",
        "score": "proba_score",
        "spam": "spam",
    }


def test_the_model_loads_without_the_custom_classifier_package(pyfunc_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "custom_classifier" or name.startswith("custom_classifier."):
                    raise ModuleNotFoundError(name)

        sys.meta_path.insert(0, Block())
        import mlflow

        model = mlflow.pyfunc.load_model({str(pyfunc_dir)!r})
        print(model.predict({{"text": ["hello"]}})["label"][0])
        assert "custom_classifier" not in sys.modules
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] in TINY_LABELS


TREE_LABELS = ["sport/football", "sport/tennis", "business"]


@pytest.fixture(scope="module")
def hierarchical_dir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from custom_classifier.inference.classifier_folder import update_settings
    from factories import make_tiny_classifier

    folder = make_tiny_classifier(tmp_path_factory.mktemp("tree"), tiny_base_model, TREE_LABELS)
    update_settings(folder, hierarchical=True)
    return folder


def test_a_hierarchical_model_answers_the_same_path_through_every_loader(
    hierarchical_dir: Path, tmp_path: Path
) -> None:
    from custom_classifier.inference.text_classifier import TextClassifier

    texts = ["a match at the stadium", "shares fell", "x"]
    direct = TextClassifier.load(hierarchical_dir, backend="torch").predict(texts)
    save_pyfunc_model(hierarchical_dir, tmp_path / "model")
    pyfunc = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    output = pyfunc.predict(pd.DataFrame({"text": texts}))

    for answer in direct:
        path = answer["path"]
        assert answer["label"] == path[-1]["label"] in TREE_LABELS
        first = path[0]["label"]
        below = [p for label, p in answer["scores"].items() if f"{label}/".startswith(f"{first}/")]
        assert path[0]["score"] == pytest.approx(sum(below))
    assert output["label"].tolist() == [a["label"] for a in direct]
    assert output["level_1"].tolist() == [a["path"][0]["label"] for a in direct]
    assert output["level_1_score"].tolist() == pytest.approx(
        [a["path"][0]["score"] for a in direct]
    )
    names = mlflow.models.get_model_info(str(tmp_path / "model")).signature.outputs.input_names()
    assert names[-4:] == ["level_1", "level_1_score", "level_2", "level_2_score"]


def test_a_flat_model_answers_no_path(tiny_classifier_dir: Path) -> None:
    from custom_classifier.inference.text_classifier import TextClassifier

    (answer,) = TextClassifier.load(tiny_classifier_dir, backend="torch").predict(["hello"])

    assert set(answer) == {"label", "score", "abstained", "scores"}
