"""MLflow: runs, the pyfunc model, registration, aliases and loading (the only mlflow importer)."""

from custom_classifier.registry.connect import open_registry
from custom_classifier.registry.info import ClassifierInfo, RunInfo, VersionInfo
from custom_classifier.registry.run_logger import RunLogger
from custom_classifier.registry.tracking import Registry, experiment_name, registered_model_name

__all__ = [
    "ClassifierInfo",
    "Registry",
    "RunInfo",
    "RunLogger",
    "VersionInfo",
    "experiment_name",
    "open_registry",
    "registered_model_name",
]
