from __future__ import annotations

import random
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from custom_classifier.inference import head_window as head_window_module
from custom_classifier.inference.head_window import HeadWindow
from custom_classifier.training.chunking import build_windows

ASCII_PARTS = [
    "the", "Economy", "GROWTH", "q3", "2,558", "U.S.", "don't", "e-mail", "(x)", "...", "##ing",
    "[CLS]", "[cls]", "[MASK]", "\x00", "\x0b", "\x0c", "\x1c", "\x7f", "a" * 99, "b" * 100,
]  # fmt: skip
UNICODE_PARTS = [
    "naïve", "Café", "Straße", "ΣΟΦΙΑ", "İstanbul", "中文", "東京タワー", "😀", "e\u0301", "\ufffd",
    "\u00a0", "\u3000", "\u2028", "\u200b", "c" * 101, "ΟΔΟΣ", "£5", "it’s", "Ω", "ﬁle", "É",
]  # fmt: skip
MOSTLY_ASCII_PARTS = ASCII_PARTS[:10] + ["£5", "it’s", "Straße", "😀", "Ω", "ﬁle", "ΟΔΟΣ", "İ"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", "\r\n", " \n\n ", "\t \t", ""]


def random_text(rng: random.Random, parts: list[str]) -> str:
    """Words and whitespace runs, with now and then a long word, an odd character, a control
    character or a special token's text."""
    pieces: list[str] = []
    for _ in range(rng.randrange(0, 1200)):
        roll = rng.random()
        if roll < 0.7:
            word = "".join(rng.choice(parts[:10]) for _ in range(rng.randrange(1, 3)))
        elif roll < 0.98:
            word = rng.choice(parts)
        else:
            word = "".join(rng.choice(parts[1]) for _ in range(rng.randrange(90, 400)))
        pieces.append(word + rng.choice(SPACES))
    return "".join(pieces)


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model: Path):
    return AutoTokenizer.from_pretrained(tiny_base_model)


@pytest.mark.parametrize("max_length", [3, 16, 64, 512])
def test_head_window_equals_the_truncated_whole_text(tokenizer, max_length: int) -> None:
    head_window = HeadWindow.for_tokenizer(tokenizer, max_length)
    assert head_window is not None
    rng = random.Random(max_length)
    texts = [random_text(rng, ASCII_PARTS) for _ in range(150)]
    texts += [random_text(rng, ASCII_PARTS + UNICODE_PARTS) for _ in range(100)]
    texts += [random_text(rng, MOSTLY_ASCII_PARTS) for _ in range(100)]
    texts += ["", " ", "word", "\n\t  \r", "x" * 5000]

    expected, _ = build_windows(tokenizer, texts, max_length=max_length, strategy="head", stride=0)

    for text, window in zip(texts, expected, strict=True):
        assert head_window(text).tolist() == window.tolist(), repr(text[:200])
    batched = head_window.windows(texts)
    assert [w.tolist() for w in batched] == [w.tolist() for w in expected]


def test_unicode_punctuation_splits_words_as_the_tokenizer_does(tokenizer) -> None:
    head_window = HeadWindow.for_tokenizer(tokenizer, 512)
    assert head_window is not None
    marks = ["“quoted”", "a—b", "«x»", "¿que?", "wait…", "a·b", "§3", "©2024", "‰", "x‐y", "【z】"]
    rng = random.Random(7)
    texts = [random_text(rng, ASCII_PARTS[:10] + marks) for _ in range(40)]

    expected, _ = build_windows(tokenizer, texts, max_length=512, strategy="head", stride=0)

    assert [w.tolist() for w in head_window.windows(texts)] == [w.tolist() for w in expected]


def test_remembered_words_are_bounded(tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(head_window_module, "_REMEMBERED_WORDS", 50)
    head_window = HeadWindow.for_tokenizer(tokenizer, 512)
    assert head_window is not None
    rng = random.Random(11)
    texts = [random_text(rng, MOSTLY_ASCII_PARTS) for _ in range(20)]

    expected, _ = build_windows(tokenizer, texts, max_length=512, strategy="head", stride=0)

    assert [w.tolist() for w in head_window.windows(texts)] == [w.tolist() for w in expected]
    assert len(head_window._word_pieces._ids) == 50


def test_a_long_text_is_read_only_as_far_as_its_window(tokenizer) -> None:
    head_window = HeadWindow.for_tokenizer(tokenizer, 16)
    assert head_window is not None
    encoded: list[str] = []
    original = head_window._encode
    head_window._encode = lambda pieces: encoded.extend(pieces) or original(pieces)  # type: ignore[method-assign]

    window = head_window("word " * 100_000)

    assert len(window) == 16
    assert sum(len(piece) for piece in encoded) < 200


def test_tokenizers_outside_the_bert_family_get_none(tiny_llama: Path) -> None:
    decoder_tokenizer = AutoTokenizer.from_pretrained(tiny_llama)

    assert HeadWindow.for_tokenizer(decoder_tokenizer, 64) is None
