"""GGUF files as base models: dequantized once into a cached Hugging Face folder, then trained
like any other folder.

transformers reads GGUF (`gguf_file=`, package `gguf`) and dequantizes it to float32, but refuses
to save a model still marked as GGUF-quantized: the weights move into a fresh model built from
the same config without its quantization entry (on the meta device, so no second copy of the
weights is allocated), which saves normally.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from custom_classifier.errors import BaseModelError

GGUF_SUFFIX = ".gguf"
SOURCE_FILE = "gguf_source.json"
"""Written last into a dequantized folder: the GGUF file it comes from. Its presence marks the
folder complete."""


def is_gguf(reference: str) -> bool:
    return reference.lower().endswith(GGUF_SUFFIX)


def cache_key(gguf_file: Path) -> str:
    """Names the dequantized copy of `gguf_file`: its path, size and modification time (hashing
    gigabytes of weights on every training would cost more than the dequantization saves)."""
    stat = gguf_file.stat()
    identity = f"{gguf_file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def dequantized_folder(gguf_file: Path, models_dir: Path) -> Path:
    """The Hugging Face folder (float32 safetensors, config, tokenizer) of `gguf_file` under
    `models_dir`, made on first use; later calls, from any process, reuse it."""
    gguf_file = Path(gguf_file).expanduser()
    if not gguf_file.is_file():
        raise BaseModelError(
            f"the GGUF base model {str(gguf_file)!r} does not exist or is not a file; expected "
            "the path of a .gguf file readable by the training worker",
            details={"base_model": str(gguf_file)},
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / f"{gguf_file.stem}-{cache_key(gguf_file)}"
    if (target / SOURCE_FILE).is_file():
        return target
    with _exclusive(models_dir / f".{target.name}.lock"):
        if not (target / SOURCE_FILE).is_file():  # another process may have made it meanwhile
            _dequantize(gguf_file, target)
    return target


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _dequantize(gguf_file: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as exc:
        raise BaseModelError(
            f"could not read the GGUF file {str(gguf_file)!r} ({type(exc).__name__}: {exc}); "
            "expected a GGUF model of an architecture transformers can load (Llama, Qwen2/3, "
            "Mistral, Gemma, Phi-3, ...)",
            details={"base_model": str(gguf_file)},
        ) from exc
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), assign=True)
    fresh.tie_weights()
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    fresh.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    source = {"gguf_file": str(gguf_file.resolve()), "size": gguf_file.stat().st_size}
    (staging / SOURCE_FILE).write_text(json.dumps(source, indent=2), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
