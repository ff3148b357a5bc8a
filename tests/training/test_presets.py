"""Named base models: the presets, their availability here, and how a base model resolves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_classifier.config import BaseModelPresetSetting, Settings, bundled_base_model
from custom_classifier.errors import BaseModelError
from custom_classifier.training import presets as base_models


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_the_builtin_presets_with_their_facts(settings: Settings) -> None:
    infos = {info.name: info for info in base_models.list_base_models(settings)}

    assert list(infos) == [
        "minilm",
        "smollm2-135m",
        "modernbert-base",
        "qwen3-0.6b",
        "llama-3.2-1b",
    ]
    minilm = infos["minilm"]
    assert (minilm.kind, minilm.fine_tuning, minilm.available, minilm.offline) == (
        "encoder",
        "full",
        True,
        True,
    )
    assert minilm.source == bundled_base_model()
    assert infos["qwen3-0.6b"].kind == "decoder" and infos["qwen3-0.6b"].fine_tuning == "lora"
    assert infos["llama-3.2-1b"].context_window == 131072
    assert all(info.parameters > 0 and info.builtin for info in infos.values())


def test_hub_presets_are_unavailable_offline_and_say_why(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))

    qwen = base_models.find_base_model("qwen3-0.6b", settings)

    assert qwen is not None and not qwen.available and not qwen.offline
    assert "HF_HUB_OFFLINE" in (qwen.reason or "") and "Qwen/Qwen3-0.6B" in (qwen.reason or "")
    with pytest.raises(BaseModelError, match="not available on this install"):
        base_models.check_base_model("qwen3-0.6b", settings)


def test_smollm2_is_available_once_its_gguf_file_is_in_the_models_folder(
    settings: Settings,
) -> None:
    missing = base_models.find_base_model("smollm2-135m", settings)
    assert missing is not None and not missing.available
    assert "custom-classifier models fetch smollm2-135m" in (missing.reason or "")

    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / base_models.SMOLLM2_FILE).write_bytes(b"GGUF")

    found = base_models.find_base_model("smollm2-135m", settings)
    assert found is not None and found.available and found.offline
    assert found.source == str(settings.models_dir / base_models.SMOLLM2_FILE)


def test_administrators_add_presets_by_configuration(
    tiny_llama: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    preset = {
        "name": "house-llm",
        "source": str(tiny_llama),
        "kind": "decoder",
        "parameters": 30000,
        "context_window": 512,
        "description": "our own",
    }
    monkeypatch.setenv("CC_BASE_MODEL_PRESETS", json.dumps([preset]))
    monkeypatch.setenv("CC_HOME", str(tmp_path / "home"))

    settings = Settings()
    info = base_models.find_base_model("house-llm", settings)

    assert info is not None and info.available and info.offline and not info.builtin
    assert info.fine_tuning == "lora"
    assert base_models.resolve_base_model("house-llm", settings).path == str(tiny_llama)


def test_a_preset_setting_is_checked_where_it_is_declared() -> None:
    with pytest.raises(ValueError, match="kind"):
        BaseModelPresetSetting(name="x", source="y", kind="other", parameters=1, context_window=1)  # type: ignore[arg-type]


def test_a_missing_local_base_model_is_refused_before_queueing(settings: Settings) -> None:
    with pytest.raises(BaseModelError, match="does not exist"):
        base_models.check_base_model("/no/such/folder", settings)
    with pytest.raises(BaseModelError, match="does not exist"):
        base_models.check_base_model("/no/such/model.gguf", settings)
    base_models.check_base_model(None, settings)
    base_models.check_base_model("auto", settings)
    base_models.check_base_model("minilm", settings)


def test_a_preset_resolves_to_what_from_pretrained_loads(settings: Settings) -> None:
    resolved = base_models.resolve_base_model("minilm", settings)

    assert resolved.reference == "minilm" and resolved.path == bundled_base_model()
    assert base_models.resolve_base_model(None, settings).path == settings.base_model
