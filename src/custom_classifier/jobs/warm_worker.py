"""What a training worker process does once, for every job it will run.

A fresh process's first BBC job on the H200 spent 12.5 s before its first training step
(importing torch, transformers, MLflow and sklearn, opening the store) against under 2 s for the
next job in the same process. `import_job_modules` makes the imports once and exempts them from
garbage collection (`training.memory.exempt_from_collections`), so the full collections that end
a job's phases stay cheap; every job calls it once its data is known to be valid.
`warm_up_worker` does that, opens the MLflow store, starts CUDA and keeps a TF-IDF baseline
child started ahead of each job (`training.baseline_process.SPARE`) as a Celery worker's process
starts, before any job arrives: by default only where the machine has an NVIDIA GPU
(`Settings.worker_warm_up`), so CPU-only workers (and the tests' workers) start as fast as before.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from custom_classifier.config import Settings

logger = logging.getLogger(__name__)

JOB_MODULES = (
    "custom_classifier.training.trainer",  # torch, transformers
    "custom_classifier.training.onnx_export",
    "custom_classifier.inference.text_classifier",
    "custom_classifier.jobs.gate",  # sklearn's metrics
    "custom_classifier.jobs.int8_backend",
    "custom_classifier.registry.connect",  # MLflow
    "mlflow.pyfunc",  # logging the model
    "onnxruntime",  # the int8 file's check
)
"""What a training job imports on its way; the rest of what it uses comes with these."""

NVIDIA_DEVICE = Path("/dev/nvidiactl")
"""Present where the NVIDIA driver is loaded (also in a container given GPUs): a GPU machine,
told without importing torch."""


@functools.cache
def import_job_modules() -> None:
    """Import `JOB_MODULES` and exempt what exists by then from later garbage collections; once
    per process."""
    from custom_classifier.training.memory import exempt_from_collections

    for name in JOB_MODULES:
        importlib.import_module(name)
    exempt_from_collections()


def wants_warm_up(settings: Settings) -> bool:
    """`Settings.worker_warm_up`, or by default whether this machine has an NVIDIA GPU."""
    if settings.worker_warm_up is not None:
        return settings.worker_warm_up
    return NVIDIA_DEVICE.exists()


def warm_up_worker(settings: Settings) -> None:
    """Imports, the MLflow store, the CUDA context, a baseline child, the base model and a
    figure, before the first job. A part that fails is logged and left to the first job, which
    meets the same failure and reports it."""
    parts: dict[str, Callable[[], object]] = {
        "TF-IDF baseline child": _keep_baseline_child,
        "imports": import_job_modules,
        "MLflow store": functools.partial(_open_store, settings),
        "CUDA": _start_cuda,
        "base model": functools.partial(_load_base_model, settings),
        "figures": _draw_figure,
        "model requirements": _read_requirements,
    }
    for name, part in parts.items():
        try:
            part()
        except Exception:  # noqa: BLE001 - warming up is an optimisation, never a reason to stop
            logger.warning(
                "worker warm-up: %s failed; the first job will retry it", name, exc_info=True
            )


def _keep_baseline_child() -> None:
    """A TF-IDF baseline child started ahead of each job, sklearn imported (first: before the
    job modules, whose imports it overlaps)."""
    from custom_classifier.training.baseline_process import SPARE

    SPARE.keep()


def _open_store(settings: Settings) -> None:
    """MLflow's store (a SQLite store checks its schema on opening): MLflow keeps it per URI."""
    from custom_classifier.registry.connect import open_registry

    open_registry(settings).client.search_experiments(max_results=1)


def _start_cuda() -> None:
    """The CUDA context and cuBLAS's handle, where there is a GPU."""
    import torch

    if not torch.cuda.is_available():
        return
    weights = torch.ones(8, 8, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        (weights @ weights).sum().item()


def _load_base_model(settings: Settings) -> None:
    """The default base model's tokenizer and weights, loaded once and dropped: the model's
    code (transformers imports it on first use) and its files (in the page cache) are ready."""
    from custom_classifier.training.backbones import load_base_model

    load_base_model(settings.base_model, ["a", "b"])


def _draw_figure() -> None:
    """matplotlib's import (1.5 s on this repo's CPU), font list and PNG renderer, which a
    job's first confusion matrix would pay for (`RunLogger.log_confusion_matrix`)."""
    import io

    from custom_classifier.registry.run_logger import confusion_matrix_figure

    confusion_matrix_figure(["a", "b"], [[1, 0], [0, 1]]).savefig(io.BytesIO(), format="png")


def _read_requirements() -> None:
    """The installed packages' metadata, as a job's first logged model reads it: MLflow maps
    every installed package to its modules to check the model's requirements, once per process
    (1.4 of that model's 1.65 s logging on this repo's CPU, 0.1 s for the next)."""
    from custom_classifier.registry.packaging import check_requirements

    check_requirements()
