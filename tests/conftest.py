"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from factories import make_tiny_base_model

# No test may reach the Hugging Face hub; the bundled model and tiny models are local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny BERT with the bundled MiniLM tokenizer (a local folder)."""
    return make_tiny_base_model(tmp_path_factory.mktemp("tiny-bert"))
