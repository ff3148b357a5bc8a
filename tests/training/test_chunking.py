from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from custom_classifier.training.chunking import build_windows, effective_stride


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model: Path):
    return AutoTokenizer.from_pretrained(tiny_base_model)


def numbered_words(count: int) -> str:
    return " ".join(f"w{index}" for index in range(count))


def test_head_keeps_one_truncated_window_per_document(tokenizer) -> None:
    windows, doc_index = build_windows(
        tokenizer, ["short text", "goal " * 100], max_length=16, strategy="head", stride=4
    )

    assert doc_index.tolist() == [0, 1]
    assert len(windows[1]) == 16


def test_chunks_cover_a_long_document_with_overlapping_windows(tokenizer) -> None:
    text = "goal match " * 50  # 100 tokens
    windows, doc_index = build_windows(
        tokenizer, ["bank", text], max_length=16, strategy="chunks", stride=4
    )

    long_windows = [w for w, doc in zip(windows, doc_index, strict=True) if doc == 1]
    assert doc_index[0] == 0 and doc_index.tolist().count(0) == 1
    assert len(long_windows) > 5
    assert all(len(w) <= 16 for w in long_windows)
    first, second = long_windows[0][1:-1].tolist(), long_windows[1][1:-1].tolist()
    assert first[-4:] == second[:4]  # consecutive windows share `stride` tokens
    content = sum(len(w) - 2 for w in long_windows) - 4 * (len(long_windows) - 1)
    assert content == 100


def test_max_windows_spreads_the_kept_windows_over_the_document(tokenizer) -> None:
    text = numbered_words(200)
    all_windows, _ = build_windows(tokenizer, [text], max_length=16, strategy="chunks", stride=0)
    kept, doc_index = build_windows(
        tokenizer, [text], max_length=16, strategy="chunks", stride=0, max_windows=3
    )

    assert len(kept) == 3 and doc_index.tolist() == [0, 0, 0]
    assert kept[0].tolist() == all_windows[0].tolist()
    assert kept[-1].tolist() == all_windows[-1].tolist()


def test_an_empty_document_still_has_a_window(tokenizer) -> None:
    for strategy in ("head", "chunks"):
        windows, doc_index = build_windows(
            tokenizer, [""], max_length=16, strategy=strategy, stride=4
        )
        assert doc_index.tolist() == [0] and len(windows[0]) == 2


def test_stride_is_clamped_so_windows_move_forward(tokenizer) -> None:
    assert effective_stride(tokenizer, 16, 64) == 7
    assert effective_stride(tokenizer, 256, 64) == 64


def test_an_unknown_strategy_is_refused(tokenizer) -> None:
    with pytest.raises(ValueError, match="head"):
        build_windows(tokenizer, ["x"], max_length=16, strategy="tail", stride=0)
