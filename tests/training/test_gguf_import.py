"""GGUF base models: dequantized once into a cached Hugging Face folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from custom_classifier.errors import BaseModelError
from custom_classifier.training import gguf_import


def test_a_missing_gguf_file_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="does not exist or is not a file"):
        gguf_import.dequantized_folder(tmp_path / "absent.gguf", tmp_path / "models")


def test_a_file_that_is_not_gguf_is_refused_with_the_reason(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a gguf file at all")

    with pytest.raises(BaseModelError, match="could not read the GGUF file"):
        gguf_import.dequantized_folder(fake, tmp_path / "models")
    assert not any((tmp_path / "models").glob("fake-*"))  # nothing half-made is left


def test_the_cache_key_changes_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"a")
    before = gguf_import.cache_key(path)
    os.utime(path, ns=(1, 1))

    assert gguf_import.cache_key(path) != before
    assert gguf_import.is_gguf("x/Model.Q4_1.GGUF") and not gguf_import.is_gguf("x/model")


@pytest.mark.slow
def test_the_smollm2_gguf_becomes_a_plain_classifier_base(
    smollm2_gguf: Path, smollm2_folder: Path
) -> None:
    from transformers import AutoConfig

    from custom_classifier.training.backbones import load_base_model, model_kind

    config = AutoConfig.from_pretrained(smollm2_folder)
    tokenizer, model = load_base_model(str(smollm2_folder), ["a", "b"])

    assert not hasattr(config, "quantization_config") and model_kind(config) == "decoder"
    assert type(model).__name__ == "LlamaForSequenceClassification"
    assert 134_000_000 < sum(p.numel() for p in model.parameters()) < 135_000_000
    assert tokenizer.pad_token is not None and model.config.pad_token_id is not None
    source = json.loads((smollm2_folder / gguf_import.SOURCE_FILE).read_text())
    assert source["gguf_file"] == str(smollm2_gguf.resolve())
    again = gguf_import.dequantized_folder(smollm2_gguf, smollm2_folder.parent)
    assert again == smollm2_folder
