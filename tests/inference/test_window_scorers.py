"""Window scorers: padding, the choice of scorer, and each scorer's logits against PyTorch's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.inference.classifier_folder import ONNX_FILE
from custom_classifier.inference.text_classifier import TextClassifier
from custom_classifier.inference.window_scorers import (
    CudaGraphScorer,
    OnnxScorer,
    TorchScorer,
    make_scorer,
    pad_windows,
)
from factories import make_tiny_classifier

LABELS = ["sport", "finance", "cooking"]
TEXTS = ["a goal in the last minute", "", "the bank raised its rates " * 20, "soup"]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def classifier_dir(tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_classifier(tmp_path_factory.mktemp("scorers"), tiny_base_model, LABELS)


@pytest.fixture(scope="module")
def exported_dir(classifier_dir: Path) -> Path:
    from custom_classifier.training.onnx_export import export_onnx

    assert export_onnx(classifier_dir) == classifier_dir / ONNX_FILE
    return classifier_dir


def reference(model_dir: Path, device: torch.device = CPU) -> TextClassifier:
    return TextClassifier.load(model_dir, device=device, backend="torch")


def test_pad_windows_pads_right_to_the_longest_rounded_up() -> None:
    windows = [np.array([5, 6, 7]), np.array([8])]

    ids, mask = pad_windows(windows, 0)
    rounded, rounded_mask = pad_windows(windows, 9, multiple=8, dtype=np.int32)

    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and ids.dtype == np.int64
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert rounded.shape == (2, 8) and rounded.dtype == np.int32
    assert rounded[1].tolist() == [8] + [9] * 7
    assert rounded_mask.sum(axis=1).tolist() == [3, 1]


@pytest.mark.parametrize(
    ("backend", "name"), [("auto", "torch"), ("torch", "torch"), ("torch-bf16", "torch-bf16")]
)
def test_without_an_onnx_file_the_cpu_scores_with_pytorch(
    classifier_dir: Path, backend: str, name: str
) -> None:
    model = reference(classifier_dir).model

    scorer = make_scorer(model, 0, CPU, backend, onnx_path=classifier_dir / "absent.onnx")  # type: ignore[arg-type]

    assert isinstance(scorer, TorchScorer) and scorer.name == name


def test_an_unknown_or_impossible_backend_is_refused(classifier_dir: Path) -> None:
    model = reference(classifier_dir).model

    with pytest.raises(ValueError, match="backend must be"):
        make_scorer(model, 0, CPU, "tpu")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="export_onnx"):
        make_scorer(model, 0, CPU, "onnx", onnx_path=classifier_dir / "absent.onnx")


def test_the_onnx_scorer_is_the_cpu_default_and_agrees_with_pytorch(exported_dir: Path) -> None:
    exact = reference(exported_dir)
    windows, _ = exact.windows(TEXTS)

    scorer = make_scorer(exact.model, 0, CPU, "auto", onnx_path=exported_dir / ONNX_FILE)
    logits = scorer(windows, batch_size=2)

    assert isinstance(scorer, OnnxScorer) and scorer.name == "onnx"
    expected = exact.window_logits(windows, batch_size=3)
    assert logits.shape == expected.shape == (len(windows), len(LABELS))
    assert np.allclose(logits, expected, atol=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_cuda_graph_replay_matches_the_eager_model(classifier_dir: Path) -> None:
    if not torch.cuda.is_bf16_supported():
        pytest.skip("needs a CUDA GPU with bf16")
    cuda = torch.device("cuda")
    classifier = TextClassifier.load(classifier_dir, device=cuda)
    windows, _ = classifier.windows(TEXTS)
    scorer = classifier.scorer

    replayed = [scorer([window], batch_size=1)[0] for window in windows]
    again = scorer([windows[0]], batch_size=1)[0]
    eager = scorer(windows, batch_size=len(windows))

    assert isinstance(scorer, CudaGraphScorer) and classifier.backend == "cuda-bf16"
    assert len(scorer._graphs) == len({len(w) for w in windows})  # one graph per length
    assert np.array_equal(again, replayed[0])
    assert np.allclose(np.stack(replayed), eager, atol=0.05)
    exact = reference(classifier_dir).window_logits(windows)
    assert (eager.argmax(axis=1) == exact.argmax(axis=1)).mean() >= 0.75
