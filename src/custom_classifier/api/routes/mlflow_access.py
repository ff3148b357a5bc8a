"""`GET /me/mlflow`: the caller's login for the MLflow UI, which shows them their own runs only."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from custom_classifier.api import examples
from custom_classifier.api.deps import CurrentUser, SettingsDep
from custom_classifier.api.responses import errors
from custom_classifier.services import mlflow_access

router = APIRouter(tags=["users"])


class MlflowLoginPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MLFLOW_LOGIN]})

    url: str | None
    username: str
    password: str


@router.get(
    "/me/mlflow",
    response_model=MlflowLoginPublic,
    summary="Your MLflow login",
    responses=errors(404, status_404="This deployment's MLflow has no per-user accounts."),
)
def my_mlflow_login(user: CurrentUser, settings: SettingsDep) -> MlflowLoginPublic:
    """Your login for the MLflow UI (basic authentication) and its address; it sees your own
    experiment and models only. `url` is null when no MLflow UI is published."""
    login = mlflow_access.login_for(settings, user.username)
    return MlflowLoginPublic(url=login.url, username=login.username, password=login.password)
