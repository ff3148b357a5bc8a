"""The `head` window of a text from only as much of the text as that window needs.

A fast tokenizer tokenizes a whole text before it truncates, so a one-document request paid for
every character of a long document while its model read the first 512 tokens. For WordPiece
tokenizers of the BERT family (BERT's normalizer and pre-tokenizer, the bundled MiniLM's) an
ASCII whitespace character always ends a word: a text cut just before one tokenizes into the
first tokens of the whole text, and the rest into the tokens after them. So the text is
tokenized piece by piece, each cut before a whitespace character, until the window is full.

Pieces whose characters the normalizer only lowercases (ASCII, and such as `£`, `’` or `ß`;
no control character, no accent to strip, no added token such as `[CLS]` written in the text)
skip the normalizer as well: `str.lower` does its work. It also turns tabs and line ends into
spaces, which the pre-tokenizer splits on all the same. Such pieces skip the library's
pre-tokenizer too, which took most of a piece's time (0.55 of 0.67 ms for 2,291 characters on
the 2-core development machine): a regular expression splits them into BERT's words (runs
between whitespace, and each punctuation character alone), and each word's WordPiece ids are
the tokenizer's own model's, remembered per word (a 2,291-character piece in 0.11 ms once its
words are known, 0.23 ms when none is).

Shipped inside the MLflow model beside `text_classifier.py`, so it imports nothing else from
`custom_classifier`. `tests/inference/test_head_window.py` checks that it gives the window the
tokenizer's own truncating call gives, over many random texts.
"""

from __future__ import annotations

import functools
import json
import re
import string
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

_WHITESPACE = re.compile("[ \t\n\r]")
"""Characters every BERT-family tokenizer splits words on (Unicode-wide spaces differ)."""
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""ASCII characters BERT's normalizer drops (`clean_text`): such pieces take the normalizer."""
_NON_ASCII = re.compile("[^\x00-\x7f]")
_FINAL_SIGMA = "\u03a3"
"""Python lowercases it by context (word-final: ς), the normalizer always to σ."""
_CHARS_PER_TOKEN = 4.0
"""The first piece's length per token wanted: English WordPiece averages 4.5 or more."""
_SPARE = 1.25
"""Later pieces ask for a quarter more characters than the ratio so far predicts."""
_REMEMBERED_WORDS = 65_536
"""Words whose ids a `HeadWindow` keeps (a few MB); later new words are looked up each time."""
_LONGEST_REMEMBERED_WORD = 64


class HeadWindow:
    """Token ids of a text's first window of `max_length` tokens, special tokens included,
    equal to `tokenizer(text, truncation=True, max_length=max_length)["input_ids"]`.

    Build it with `for_tokenizer`, which returns None for tokenizers it cannot vouch for.
    """

    def __init__(
        self,
        tokenizer: Any,
        max_length: int,
        *,
        lowercase: bool,
        specials: tuple[list[int], list[int]],
    ) -> None:
        from tokenizers import Tokenizer

        backend = tokenizer.backend_tokenizer
        # Private copies: the transformers tokenizer changes its backend's truncation per call.
        self._normalizing = Tokenizer.from_str(backend.to_str())
        self._normalizing.no_truncation()
        self._normalizing.no_padding()
        self._word_pieces = _WordPieces(self._normalizing.model)
        _word_pattern()  # built at load rather than in the first request
        self._lowercase = lowercase
        self._added = [token.lower() for token in tokenizer.get_added_vocab()]
        self._inert: dict[str, bool] = {}
        self.content = max_length - tokenizer.num_special_tokens_to_add()
        self._head, self._tail = specials

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, max_length: int) -> HeadWindow | None:
        """A `HeadWindow` for a fast BERT-family WordPiece tokenizer that truncates on the
        right; None for any other (the caller tokenizes whole texts)."""
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None or getattr(tokenizer, "truncation_side", "right") != "right":
            return None
        config = json.loads(backend.to_str())
        normalizer = config.get("normalizer") or {}
        kinds = (
            normalizer.get("type"),
            (config.get("pre_tokenizer") or {}).get("type"),
            (config.get("model") or {}).get("type"),
        )
        if kinds != ("BertNormalizer", "BertPreTokenizer", "WordPiece"):
            return None
        if any(_WHITESPACE.search(token) for token in tokenizer.get_added_vocab()):
            return None
        if max_length <= tokenizer.num_special_tokens_to_add():
            return None
        specials = _special_tokens(tokenizer)
        if specials is None:
            return None
        return cls(
            tokenizer, max_length, lowercase=bool(normalizer.get("lowercase")), specials=specials
        )

    def __call__(self, text: str) -> np.ndarray:
        return self.windows([text])[0]

    def windows(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The window of each text. Every round tokenizes one more piece of each text whose
        window is not full yet, all in one batch call (on every core where the tokenizers
        library may use them)."""
        ids: list[list[int]] = [[] for _ in texts]
        starts = [0] * len(texts)
        chars_per_token = [_CHARS_PER_TOKEN] * len(texts)
        unfinished = [i for i, text in enumerate(texts) if text]
        while unfinished:
            pieces = []
            for i in unfinished:
                wanted = int((self.content - len(ids[i])) * chars_per_token[i]) + 16
                end = _cut(texts[i], starts[i] + wanted)
                pieces.append(texts[i][starts[i] : end])
                starts[i] = end
            for i, piece_ids in zip(unfinished, self._encode(pieces), strict=True):
                ids[i].extend(piece_ids)
                if ids[i]:
                    chars_per_token[i] = _SPARE * starts[i] / len(ids[i])
            unfinished = [
                i for i in unfinished if len(ids[i]) < self.content and starts[i] < len(texts[i])
            ]
        return [
            np.asarray(self._head + window[: self.content] + self._tail, dtype=np.int32)
            for window in ids
        ]

    def _encode(self, pieces: list[str]) -> list[list[int]]:
        """Token ids of each piece, without special tokens: pieces the normalizer would only
        lowercase word by word (`_encode_plain`), the others through the whole tokenizer."""
        plain = [self._normalized_by_lower(piece) for piece in pieces]
        plain_ids = iter(self._encode_plain([lowered for lowered in plain if lowered is not None]))
        others = [piece for piece, lowered in zip(pieces, plain, strict=True) if lowered is None]
        normalized_ids = iter(self._encode_normalizing(others))
        return [next(normalized_ids) if lowered is None else next(plain_ids) for lowered in plain]

    def _encode_normalizing(self, pieces: list[str]) -> list[list[int]]:
        """Token ids of pieces through the whole tokenizer, normalizer included."""
        if len(pieces) <= 1:  # the batch call costs more for one text
            results = [
                self._normalizing.encode(piece, add_special_tokens=False) for piece in pieces
            ]
        else:
            results = self._normalizing.encode_batch(pieces, add_special_tokens=False)
        return [list(result.ids) for result in results]

    def _encode_plain(self, pieces: list[str]) -> list[list[int]]:
        """Token ids of pieces already normalized, split into words by `_words_of`."""
        return [self._word_pieces.ids(_words_of(piece)) for piece in pieces]

    def _normalized_by_lower(self, piece: str) -> str | None:
        """What the normalizer would make of `piece`, when `str.lower` (or nothing, for a cased
        tokenizer) makes the same; else None."""
        if _CONTROL.search(piece):
            return None
        if not piece.isascii() and not all(map(self._is_inert, set(_NON_ASCII.findall(piece)))):
            return None
        lowered = piece.lower()
        if any(token in lowered for token in self._added):
            return None
        return lowered if self._lowercase else piece

    def _is_inert(self, char: str) -> bool:
        """Whether the normalizer changes `char` only as `str.lower` does, whatever its
        neighbours (no accent to strip, no decomposition, no combining class, no CJK spacing,
        no removal, and not the final sigma), and the pre-tokenizer splits words at it where
        `_words_of` does."""
        known = self._inert.get(char)
        if known is None:
            normalized = self._normalizing.normalizer.normalize_str(char)
            known = (
                char != _FINAL_SIGMA
                and unicodedata.combining(char) == 0
                and unicodedata.normalize("NFD", char) == char
                and normalized == (char.lower() if self._lowercase else char)
                and self._splits_as_words_of(normalized)
            )
            if len(self._inert) < 65_536:
                self._inert[char] = known
        return known

    def _splits_as_words_of(self, normalized: str) -> bool:
        """Whether the pre-tokenizer takes a normalized character for what `_words_of` does:
        punctuation (a word of its own) or part of a word."""
        probe = f"a{normalized}a"
        words = [word for word, _ in self._normalizing.pre_tokenizer.pre_tokenize_str(probe)]
        return words == _words_of(probe)


class _WordPieces:
    """The WordPiece ids of words, from the tokenizer's own model, remembered per word."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._ids: dict[str, list[int]] = {}

    def ids(self, words: list[str]) -> list[int]:
        """The ids of `words`, one after another."""
        ids: list[int] = []
        remembered = self._ids
        for word in words:
            word_ids = remembered.get(word)
            if word_ids is None:
                word_ids = [token.id for token in self._model.tokenize(word)]
                if len(word) <= _LONGEST_REMEMBERED_WORD and len(remembered) < _REMEMBERED_WORDS:
                    remembered[word] = word_ids
            ids.extend(word_ids)
        return ids


def _words_of(text: str) -> list[str]:
    """BERT's pre-tokenization of a normalized text: runs of characters between whitespace
    and punctuation, and each punctuation character alone. Exact for texts of ASCII and the
    characters `HeadWindow._is_inert` accepts, which checks each against the pre-tokenizer."""
    return _word_pattern().findall(text)


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """Words as BERT's pre-tokenizer cuts them: ASCII punctuation and the Basic Multilingual
    Plane's punctuation characters (Unicode category P) stand alone (built once, 20 ms)."""
    punctuation = string.punctuation + "".join(
        char
        for char in map(chr, range(0x80, 0x10000))
        if unicodedata.category(char).startswith("P")
    )
    marks = re.escape(punctuation)
    return re.compile(f"[^ \t\n\r{marks}]+|[{marks}]")


def _cut(text: str, position: int) -> int:
    """Where a piece that should reach `position` ends: just before the first whitespace
    character from there on, or at the end of the text."""
    if position >= len(text):
        return len(text)
    found = _WHITESPACE.search(text, position)
    return len(text) if found is None else found.start()


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]] | None:
    """The ids the tokenizer puts before and after a text's tokens (None when a probe text's
    tokens do not appear whole between them)."""
    probe = "classification"
    inner = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(probe)["input_ids"])
    for start in range(len(full) - len(inner) + 1):
        if full[start : start + len(inner)] == inner:
            head, tail = full[:start], full[start + len(inner) :]
            if len(head) + len(tail) == tokenizer.num_special_tokens_to_add():
                return head, tail
    return None
