"""MLflow accounts: the service account the product uses, and one account per product user.

The MLflow server runs with `--app-name basic-auth` and `default_permission = NO_PERMISSIONS`.
The API and the workers authenticate as the service account (the server's admin). Each product
user gets an MLflow account with READ on their own experiment `cc/<owner>` and registered models
`<owner>.<name>` only, so the MLflow UI shows them their own runs and nothing else.

A user's MLflow password is derived from `CC_SECRET_KEY` and the username: nothing to store, and
the API can show it again to the user it belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from custom_classifier.config import Settings
from custom_classifier.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

USER_PERMISSION = "READ"
"""Users read their runs and models; only the product (service account) changes them."""
TIMEOUT_SECONDS = 10.0


def apply_service_credentials(settings: Settings) -> None:
    """Make every MLflow client in this process authenticate as the service account."""
    if settings.mlflow_username and settings.mlflow_password is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"] = settings.mlflow_username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = settings.mlflow_password.get_secret_value()


def mlflow_password_for(settings: Settings, username: str) -> str:
    """The MLflow password of a product user (stable while CC_SECRET_KEY is)."""
    secret = settings.secret_key.get_secret_value().encode()
    digest = hmac.new(secret, f"mlflow-user:{username}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class MlflowAccounts:
    """The basic-auth REST API of an MLflow tracking server, called as the service account."""

    tracking_uri: str
    admin_username: str
    admin_password: str
    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> MlflowAccounts | None:
        """None when MLflow is a local store or no service account is configured."""
        uri = settings.resolved_tracking_uri
        if urlparse(uri).scheme not in ("http", "https") or not settings.mlflow_username:
            return None
        if settings.mlflow_password is None:
            return None
        password = settings.mlflow_password.get_secret_value()
        return cls(uri.rstrip("/"), settings.mlflow_username, password, settings)

    def ensure_user(self, username: str) -> str:
        """Create the user's MLflow account (or reset its password); returns the password."""
        password = mlflow_password_for(self.settings, username)
        body = {"username": username, "password": password}
        response = self._call("POST", "/api/2.0/mlflow/users/create", json=body, ok=(200, 400))
        if response.status_code == 400 and not _already_exists(response):
            raise self._failed("create the MLflow user", response)
        if response.status_code == 400:
            self._call("PATCH", "/api/2.0/mlflow/users/update-password", json=body)
        return password

    def grant_experiment(self, username: str, experiment_id: str) -> None:
        self._grant(username, "experiment", experiment_id)

    def grant_registered_model(self, username: str, name: str) -> None:
        self._grant(username, "registered_model", name)

    def _grant(self, username: str, resource_type: str, resource_id: str) -> None:
        """Idempotent: a grant that exists already is fine; a missing account is created."""
        body = {
            "username": username,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "permission": USER_PERMISSION,
        }
        path = "/api/3.0/mlflow/users/permissions/grant"
        response = self._call("POST", path, json=body, ok=(200, 400, 404))
        if response.status_code == 404:
            self.ensure_user(username)
            response = self._call("POST", path, json=body, ok=(200, 400))
        if response.status_code == 400 and not _already_exists(response):
            raise self._failed(
                f"grant {username} access to {resource_type} {resource_id}", response
            )

    def _call(
        self, method: str, path: str, *, json: dict[str, Any], ok: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        try:
            response = httpx.request(
                method,
                self.tracking_uri + path,
                json=json,
                auth=(self.admin_username, self.admin_password),
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailableError(
                f"the MLflow server at {self.tracking_uri} is not reachable: {error}",
                details={"mlflow": self.tracking_uri},
            ) from error
        if response.status_code not in ok:
            raise self._failed(f"{method} {path}", response)
        return response

    def _failed(self, action: str, response: httpx.Response) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"could not {action} on the MLflow server at {self.tracking_uri}: "
            f"HTTP {response.status_code} {response.text[:300]}; check CC_MLFLOW_USERNAME and "
            "CC_MLFLOW_PASSWORD (the service account must be the server's admin)",
            details={"mlflow": self.tracking_uri, "status": response.status_code},
        )


def _already_exists(response: httpx.Response) -> bool:
    try:
        code = response.json().get("error_code")
    except ValueError:
        return False
    return code == "RESOURCE_ALREADY_EXISTS"
