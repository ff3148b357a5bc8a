"""Build the pyfunc model folder of a fine-tuned classifier and log it into a run."""

from __future__ import annotations

import tempfile
import threading
import warnings
from importlib.metadata import version
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema, TensorSpec
from packaging.version import Version

from custom_classifier.inference.classifier_folder import read_settings
from custom_classifier.inference.label_paths import max_levels
from custom_classifier.inference.model_uris import MODEL_ARTIFACT_PATH, run_model_uri

PYFUNC_MODEL_FILE = Path(__file__).with_name("pyfunc_model.py")
_INFERENCE = Path(__file__).parents[1] / "inference"
MODEL_CODE_FILES = tuple(
    _INFERENCE / name
    for name in (
        "text_classifier.py",
        "window_scorers.py",
        "classifier_folder.py",
        "head_window.py",
        "label_paths.py",
    )
)
"""Shipped inside the model as its code (`code_paths`): with `PYFUNC_MODEL_FILE`, all it needs
to load without the custom_classifier package."""
REQUIRED_PACKAGES = ("mlflow", "torch", "transformers", "numpy", "pandas")
ONNX_PACKAGES = ("onnxruntime",)
"""Added when the folder holds an ONNX model or will once its check passes (`cpu_backend`), so
a served copy predicts on the fast path."""
RESERVED_COLUMNS = ("label", "score")

MODEL_CODE_LOCK = threading.Lock()
"""MLflow runs a model-from-code file through one global (`mlflow.models.set_model`), so saving
and loading such models must not overlap between threads."""


def pip_requirements(*, with_onnx: bool = False) -> list[str]:
    """The packages the model needs, pinned to the installed public versions (no `+cpu`)."""
    names = REQUIRED_PACKAGES + (ONNX_PACKAGES if with_onnx else ())
    return [f"{name}=={Version(version(name)).public}" for name in names]


def check_requirements() -> None:
    """What MLflow checks as it saves a model: that the installed packages meet its
    requirements (a warning where not), from a map of every installed package's modules that
    it makes once per process."""
    from mlflow.utils.requirements_utils import warn_dependency_requirement_mismatches

    warn_dependency_requirement_mismatches(pip_requirements(with_onnx=True))


def level_columns(labels: list[str]) -> list[str]:
    """A hierarchical model's columns per level: `level_1`, `level_1_score`, ..."""
    levels = range(1, max_levels(labels) + 1)
    return [name for n in levels for name in (f"level_{n}", f"level_{n}_score")]


def probability_columns(labels: list[str], *, hierarchical: bool = False) -> dict[str, str]:
    """Output column of each label's probability: the label, or `proba_<label>` on a clash."""
    reserved = (*RESERVED_COLUMNS, *(level_columns(labels) if hierarchical else ()))
    return {label: f"proba_{label}" if label in reserved else label for label in labels}


def signature(labels: list[str], *, hierarchical: bool = False) -> ModelSignature:
    """Input: a string column `text`. Output: `label`, `score` and one probability per label;
    a hierarchical model adds the node and score of each level (`level_columns`)."""
    outputs: list[ColSpec | TensorSpec] = [ColSpec("string", "label"), ColSpec("double", "score")]
    columns = probability_columns(labels, hierarchical=hierarchical)
    outputs += [ColSpec("double", column) for column in columns.values()]
    if hierarchical:
        outputs += [
            ColSpec("double" if name.endswith("_score") else "string", name, required=False)
            for name in level_columns(labels)
        ]
    return ModelSignature(inputs=Schema([ColSpec("string", "text")]), outputs=Schema(outputs))


def save_pyfunc_model(model_dir: Path, path: Path) -> None:
    """Write the pyfunc model of the fine-tuned folder `model_dir` into the new folder `path`."""
    settings = read_settings(model_dir)
    labels, hierarchical = list(settings["labels"]), bool(settings.get("hierarchical", False))
    with MODEL_CODE_LOCK, warnings.catch_warnings():
        # The signature is explicit: an input example would run the model while logging.
        warnings.filterwarnings("ignore", message=r".*An input example was not provided")
        mlflow.pyfunc.save_model(
            path=str(path),
            python_model=str(PYFUNC_MODEL_FILE),
            artifacts={"classifier": str(model_dir)},
            code_paths=[str(path) for path in MODEL_CODE_FILES],
            signature=signature(labels, hierarchical=hierarchical),
            pip_requirements=pip_requirements(with_onnx=_has_int8(model_dir, settings)),
            model_config={
                "probability_columns": probability_columns(labels, hierarchical=hierarchical)
            },
            metadata={"labels": labels},
        )


def _has_int8(model_dir: Path, settings: dict[str, object]) -> bool:
    served = settings.get("served")
    pending = isinstance(served, dict) and served.get("cpu_backend") == "pending"
    return pending or any(model_dir.glob("*.onnx"))


def log_pyfunc_model(client: MlflowClient, run_id: str, model_dir: Path) -> str:
    """Log the pyfunc model as the run's `model` artifact folder; return `runs:/<id>/model`."""
    with tempfile.TemporaryDirectory(prefix="cc-model-") as tmp:
        local = Path(tmp) / MODEL_ARTIFACT_PATH
        save_pyfunc_model(Path(model_dir), local)
        client.log_artifacts(run_id, str(local), MODEL_ARTIFACT_PATH)
    return run_model_uri(run_id)
