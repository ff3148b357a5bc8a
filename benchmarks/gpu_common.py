"""What the GPU benchmarks share: the carried model, the BBC split, timing helpers.

The device machine reaches no registry and no ../shared, so the model and the data set travel
with the working tree in `.device-carry/` (list it in .git/info/exclude). Fill it once here:

    .venv/bin/python -m benchmarks.gpu_common

It holds an fp16 copy of the bundled MiniLM (45 MB: a call carries at most 64 MiB), rebuilt in
float32 on the device, BBC's archive and 20 Newsgroups' test part (7,532 files, 5.9 MB packed).

The job with MLflow (`benchmarks/device_job.sh job`) also needs MLflow's wheels, which leave
no room for the plain model copy: `.whl-mlflow/` (11.5 MB) and the model xz-packed into
`.device-xz/` (41 MB; both in .git/info/exclude), made once here:

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl-mlflow mlflow-skinny==3.17.2 alembic==1.20.1 \
        Mako==1.4.3 cachetools==7.3.3 importlib_metadata==9.1.0 opentelemetry-api==1.45.2 \
        opentelemetry-sdk==1.45.2 opentelemetry-proto==1.45.2 sqlparse==0.6.1 \
        opentelemetry-semantic-conventions==0.66b2 fastapi==0.165.0 starlette==1.10.0 \
        databricks-sdk==0.167.0 cryptography==50.0.2 cffi==2.1.1
    mkdir -p .device-xz && tar -C .device-carry -cJf .device-xz/minilm-fp16.tar.xz minilm-fp16
"""

from __future__ import annotations

import os
import shutil
import statistics
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# As a training worker does (`training/process_environment.py`); the runs recorded in
# BENCHMARKS.md on 2026-11-27 set it to false on the command line.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

from benchmarks.datasets import CACHE, dataset_folder, label_folders  # noqa: E402
from custom_classifier.corpus.models import Document, Split  # noqa: E402

CARRY = Path(__file__).resolve().parents[1] / ".device-carry"
FP16_MODEL = CARRY / "minilm-fp16"
BBC_ARCHIVE = CARRY / "bbc.tar.gz"
NEWS20_TEST_ARCHIVE = CARRY / "20news-test.tar.gz"


def base_model() -> str:
    """The bundled MiniLM: from the package, else rebuilt in float32 from the carried fp16 copy."""
    try:
        from custom_classifier.config import bundled_base_model

        return bundled_base_model()
    except Exception:  # the device machine lacks the package's other dependencies
        pass
    target = Path("/tmp/minilm-fp32")
    if not (target / "model.safetensors").is_file():
        import torch

        copy_model(FP16_MODEL, target, torch.float32)
    return str(target)


def copy_model(source: Path, target: Path, dtype: Any) -> None:
    """Copy a model folder, its floating-point weights converted to `dtype`."""
    from safetensors.torch import load_file, save_file

    target.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        if file.is_file() and file.name != "model.safetensors":
            shutil.copy(file, target / file.name)
    weights = load_file(source / "model.safetensors")
    converted = {k: v.to(dtype) if v.is_floating_point() else v for k, v in weights.items()}
    save_file(converted, target / "model.safetensors", metadata={"format": "pt"})


def bbc_folder() -> Path:
    if not (CACHE / "bbc").is_dir() and BBC_ARCHIVE.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tarfile.open(BBC_ARCHIVE) as tar:
            tar.extractall(CACHE, filter="data")
    return dataset_folder("bbc")


def news20_test_folder() -> Path:
    """20 Newsgroups' bydate test part: unpacked from the carried archive on the device."""
    if not (CACHE / "20news-bydate-test").is_dir() and NEWS20_TEST_ARCHIVE.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tarfile.open(NEWS20_TEST_ARCHIVE) as tar:
            tar.extractall(CACHE, filter="data")
    return dataset_folder("20news-test")


def read_bbc() -> tuple[list[Document], list[str]]:
    from custom_classifier.corpus.reader import inspect_corpus

    root = bbc_folder()
    labels = label_folders(root)
    return inspect_corpus(root, labels, min_docs_per_label=1).documents, labels


def bbc_split(seed: int = 42) -> tuple[Split, list[str]]:
    """BBC stratified 80/20 after de-duplication: 1,699 documents to train, 426 to test."""
    from custom_classifier.corpus.split import split_corpus

    documents, labels = read_bbc()
    split = split_corpus(documents, validation_fraction=0.0, test_fraction=0.2, seed=seed)
    return split, labels


def news20_split(seed: int = 42) -> tuple[Split, list[str]]:
    """20 Newsgroups' bydate test part (the one carried), stratified 80/20 after
    de-duplication: about 6,000 documents to train, 1,500 to test."""
    from custom_classifier.corpus.reader import inspect_corpus
    from custom_classifier.corpus.split import split_corpus

    root = news20_test_folder()
    labels = label_folders(root)
    documents = inspect_corpus(root, labels, min_docs_per_label=1).documents
    split = split_corpus(documents, validation_fraction=0.0, test_fraction=0.2, seed=seed)
    return split, labels


def cuda_times_ms(fn: Callable[[], object], repeats: int, warmup: int = 3) -> list[float]:
    """Host-clock milliseconds of each of `repeats` calls, each up to a GPU synchronization."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return times


def cuda_median_ms(fn: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    return statistics.median(cuda_times_ms(fn, repeats, warmup))


def percentiles_ms(times: list[float]) -> dict[str, float]:
    """p10, p50 and p90 of `times`, the spread of a latency as well as its median."""
    deciles = statistics.quantiles(times, n=10)
    return {"p10": deciles[0], "p50": statistics.median(times), "p90": deciles[-1]}


def ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}x" if baseline else "n/a"


def fill_carry() -> None:
    """Write `.device-carry/`: the fp16 MiniLM copy, BBC's archive, 20 Newsgroups' test part."""
    import torch

    from custom_classifier.config import bundled_base_model

    copy_model(Path(bundled_base_model()), FP16_MODEL, torch.float16)
    from benchmarks.datasets import SHARED

    shutil.copyfile(SHARED / "bbc" / "bbc.tar.gz", BBC_ARCHIVE)
    test = dataset_folder("20news-test")
    with tarfile.open(NEWS20_TEST_ARCHIVE, "w:gz") as tar:
        tar.add(test, arcname=test.name)


if __name__ == "__main__":
    fill_carry()
