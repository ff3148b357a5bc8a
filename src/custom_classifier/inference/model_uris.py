"""Where a training logs its model in MLflow, defined once: the registry writes there, the
predictor and the services name it (`runs:/<run id>/model`)."""

from __future__ import annotations

MODEL_ARTIFACT_PATH = "model"
"""The run's artifact folder of the pyfunc model."""


def run_model_uri(run_id: str) -> str:
    """`runs:/<run id>/model`: the model a training run logged."""
    return f"runs:/{run_id}/{MODEL_ARTIFACT_PATH}"
