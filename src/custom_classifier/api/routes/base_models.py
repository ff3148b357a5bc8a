"""Named base models: what each is and whether this install can train it."""

from __future__ import annotations

from fastapi import APIRouter

from custom_classifier.api.deps import CurrentUser, RuntimeDep
from custom_classifier.api.schemas import BaseModelPublic, BaseModelsPublic
from custom_classifier.training.presets import list_base_models

router = APIRouter(tags=["base models"])


@router.get("/base-models", response_model=BaseModelsPublic, summary="List the base models")
def get_base_models(user: CurrentUser, runtime: RuntimeDep) -> BaseModelsPublic:
    """The presets `base_model` accepts by name, with parameter count, context window, kind,
    default fine-tuning, and whether each is available (offline) on this install and why not."""
    infos = list_base_models(runtime.settings)
    return BaseModelsPublic(
        data=[BaseModelPublic(**info.to_dict()) for info in infos], count=len(infos)
    )
