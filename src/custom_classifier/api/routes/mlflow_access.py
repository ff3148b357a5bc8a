"""`GET /me/mlflow`: the caller's login for the MLflow UI, which shows them their own runs only."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from custom_classifier.api.deps import CurrentUser, SettingsDep
from custom_classifier.api.responses import errors
from custom_classifier.services import mlflow_access

router = APIRouter(tags=["users"])


class MlflowLoginPublic(BaseModel):
    url: str | None
    username: str
    password: str


@router.get(
    "/me/mlflow",
    response_model=MlflowLoginPublic,
    responses=errors(404, status_404="This deployment's MLflow has no per-user accounts."),
)
def my_mlflow_login(user: CurrentUser, settings: SettingsDep) -> MlflowLoginPublic:
    """Your MLflow UI login (basic authentication); it sees your experiment and models only."""
    login = mlflow_access.login_for(settings, user.username)
    return MlflowLoginPublic(url=login.url, username=login.username, password=login.password)
