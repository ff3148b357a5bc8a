"""Window scorers: padding, the choice of scorer, and each scorer's logits against PyTorch's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.inference.classifier_folder import ONNX_FILE
from custom_classifier.inference.text_classifier import TextClassifier
from custom_classifier.inference.window_scorers import (
    CPU_BATCH_TOKENS,
    CudaGraphScorer,
    OnnxScorer,
    TorchScorer,
    length_sorted_batches,
    make_scorer,
    pad_windows,
    unmasked_attention,
    window_logits,
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


def test_unmasked_attention_gives_sdpa_no_mask_for_unpadded_input_only(
    classifier_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers.masking_utils
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(classifier_dir).eval()
    # As transformers 5.17 decides while a CUDA stream captures: keep the all-true mask.
    monkeypatch.setattr(transformers.masking_utils, "_ignore_bidirectional_mask_sdpa", _never)
    masks: list[torch.Tensor | None] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        masks.append(kwargs.get("attn_mask"))
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    ids = torch.randint(1000, 2000, (1, 24))
    padded = torch.cat([ids, torch.zeros(1, 8, dtype=torch.long)], dim=1)
    padding_mask = (padded != 0).long()

    def logits(**inputs: torch.Tensor) -> torch.Tensor:
        masks.clear()
        with torch.inference_mode():
            return model(**inputs).logits

    as_built, built_masks = logits(input_ids=ids), list(masks)
    padded_as_built = logits(input_ids=padded, attention_mask=padding_mask)
    with unmasked_attention(model):
        unmasked, unmasked_masks = logits(input_ids=ids), list(masks)
        padded_unmasked, padded_masks = logits(input_ids=padded, attention_mask=padding_mask), masks

    assert model.config._attn_implementation == "sdpa"
    assert built_masks and all(mask is not None for mask in built_masks)
    assert unmasked_masks and all(mask is None for mask in unmasked_masks)
    assert padded_masks and all(mask is not None for mask in padded_masks)
    assert torch.allclose(unmasked, as_built, atol=1e-5)
    assert torch.allclose(padded_unmasked, padded_as_built, atol=1e-5)


def _never(*args: object, **kwargs: object) -> bool:
    return False


def test_length_sorted_batches_without_a_token_cap_take_batch_size_windows() -> None:
    windows = [np.ones(n, dtype=np.int32) for n in (5, 1, 3, 2, 4)]
    batches = length_sorted_batches(windows, 2)
    assert [list(b) for b in batches] == [[1, 3], [2, 4], [0]]


def test_a_token_cap_bounds_each_batch_padded_size_and_keeps_every_window_once() -> None:
    rng = np.random.default_rng(0)
    windows = [np.ones(n, dtype=np.int32) for n in rng.integers(1, 600, 200)]
    batches = length_sorted_batches(windows, 32, max_tokens=1024)
    assert sorted(int(i) for b in batches for i in b) == list(range(200))
    for batch in batches:
        width = max(len(windows[i]) for i in batch)
        assert len(batch) <= 32
        assert len(batch) == 1 or len(batch) * width <= 1024
    short = [np.ones(10, dtype=np.int32)] * 64
    assert [len(b) for b in length_sorted_batches(short, 32, max_tokens=1024)] == [32, 32]
    longer_than_the_cap = [np.ones(2000, dtype=np.int32)] * 2
    assert [len(b) for b in length_sorted_batches(longer_than_the_cap, 32, max_tokens=1024)] == [
        1,
        1,
    ]


class _ShapeRecorder(torch.nn.Module):
    """A stand-in model that records the shape of each batch it scores."""

    def __init__(self) -> None:
        super().__init__()
        self.config = type("Config", (), {"num_labels": 2})()
        self.shapes: list[tuple[int, int]] = []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> object:
        self.shapes.append(tuple(input_ids.shape))  # type: ignore[arg-type]
        logits = torch.stack([input_ids.sum(dim=1).float(), attention_mask.sum(dim=1).float()], 1)
        return type("Output", (), {"logits": logits})()


def test_cpu_scoring_batches_hold_at_most_the_token_budget_whatever_the_batch_size() -> None:
    windows = [np.full(n, 1, dtype=np.int32) for n in [512] * 40 + [100] * 40]
    recorder = _ShapeRecorder()
    logits = window_logits(recorder, windows, pad_id=0, batch_size=64, device=CPU)  # type: ignore[arg-type]
    assert all(rows * width <= CPU_BATCH_TOKENS for rows, width in recorder.shapes)
    assert sum(rows for rows, _ in recorder.shapes) == len(windows)
    np.testing.assert_array_equal(logits[:, 1], [len(w) for w in windows])  # order kept


@pytest.mark.parametrize("sliding_window", [None, 4], ids=["causal", "sliding-window"])
def test_causal_unmasked_attention_gives_a_decoder_is_causal_instead_of_a_built_mask(
    sliding_window: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decoder's training step without padding: no causal mask even while a CUDA stream
    captures (transformers 5.17 then builds one, which leaves SDPA without flash attention: on
    one H200 memory-efficient attention took 22 of a step's 101 ms); padded input and sliding
    windows keep the mask transformers builds."""
    import transformers.utils.import_utils
    from transformers import Qwen3Config, Qwen3ForSequenceClassification

    config = Qwen3Config(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        pad_token_id=0,
        use_sliding_window=sliding_window is not None,
        sliding_window=sliding_window,
        max_window_layers=0,
    )
    torch.manual_seed(0)
    model = Qwen3ForSequenceClassification(config).eval()
    # As while a CUDA stream captures: transformers 5.17 then builds the causal mask (it cannot
    # read the positions to rule out packed sequences, nor the padding mask).
    monkeypatch.setattr(transformers.utils.import_utils, "is_cuda_stream_capturing", lambda: True)
    calls: list[tuple[torch.Tensor | None, bool]] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((kwargs.get("attn_mask"), bool(kwargs.get("is_causal"))))
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    ids = torch.randint(1, 50, (2, 12))
    padded = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], dim=1)

    def logits(
        **inputs: torch.Tensor,
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor | None, bool]]]:
        calls.clear()
        with torch.inference_mode():
            return model(**inputs, use_cache=False).logits, list(calls)

    as_built, built = logits(input_ids=ids)
    padded_as_built, _ = logits(input_ids=padded, attention_mask=(padded != 0).long())
    with unmasked_attention(model, causal=True):
        unmasked, unmasked_calls = logits(input_ids=ids)
        padded_unmasked, padded_calls = logits(
            input_ids=padded, attention_mask=(padded != 0).long()
        )

    assert model.config._attn_implementation == "sdpa"
    assert built and all(mask is not None for mask, _ in built)
    if sliding_window is None:
        assert unmasked_calls and all(mask is None and causal for mask, causal in unmasked_calls)
    else:
        assert unmasked_calls and all(mask is not None for mask, _ in unmasked_calls)
    assert padded_calls and all(mask is not None for mask, _ in padded_calls)
    torch.testing.assert_close(unmasked, as_built)
    torch.testing.assert_close(padded_unmasked, padded_as_built)
