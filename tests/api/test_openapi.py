"""The OpenAPI document that `/docs` and `/redoc` show: written for people, with examples."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from custom_classifier.api import schemas
from custom_classifier.api.routes.mlflow_access import MlflowLoginPublic


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def operations(openapi: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_written_summary_and_description(openapi: dict[str, Any]) -> None:
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            # FastAPI's operation id is the function name, the path and the method.
            suffix = re.sub(r"\W", "_", path) + "_" + method
            function = operation["operationId"].removesuffix(suffix)
            generated = function.replace("_", " ").title()  # e.g. "Predict By Run"
            assert operation.get("summary") not in (None, generated), (method, path)
            assert len(operation.get("description", "")) > 20, (method, path)
    assert len(operations(openapi)) > 20


def test_error_answers_show_the_envelope_with_an_example(openapi: dict[str, Any]) -> None:
    checked = 0
    for name, operation in operations(openapi):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            example = answer["content"]["application/json"]["example"]
            assert set(example) == {"error"}, name
            assert set(example["error"]) == {"code", "message", "details"}, name
            checked += 1
    assert checked > 50
    envelope = openapi["components"]["schemas"]["ErrorEnvelope"]
    schemas.ErrorEnvelope.model_validate(envelope["examples"][0])


ANSWERS: list[type[BaseModel]] = [
    schemas.ClassifierPublic,
    schemas.ClassifiersPublic,
    schemas.JobPublic,
    schemas.JobsPublic,
    schemas.VersionPublic,
    schemas.PredictionPublic,
    schemas.DatasetPublic,
    schemas.FolderListingPublic,
    schemas.DataReportPublic,
    schemas.UserPublic,
    schemas.UsersPublic,
    schemas.UserCreated,
    schemas.ApiKeyPublic,
    schemas.ApiKeyCreated,
    schemas.ApiKeysPublic,
    schemas.ErrorEnvelope,
    schemas.BaseModelPublic,
    schemas.BaseModelsPublic,
    MlflowLoginPublic,
]


@pytest.mark.parametrize("model", ANSWERS, ids=lambda model: model.__name__)
def test_list_and_detail_answers_have_examples_that_are_valid(
    openapi: dict[str, Any], model: type[BaseModel]
) -> None:
    assert openapi["components"]["schemas"][model.__name__]["examples"]
    # The document leaves null fields out of examples; the example as written must be valid.
    [example] = model.model_config["json_schema_extra"]["examples"]  # type: ignore[index]
    model.model_validate(example)  # an example that drifted from its schema fails here


def test_file_uploads_describe_the_file_and_show_a_curl_example(openapi: dict[str, Any]) -> None:
    uploads = [
        (name, operation)
        for name, operation in operations(openapi)
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(uploads) == 4
    components = openapi["components"]["schemas"]
    for name, operation in uploads:
        body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
        form = components[body["$ref"].rsplit("/", 1)[1]]
        assert form["properties"]["file"]["description"], name
        [sample] = operation["x-codeSamples"]
        assert sample["source"].startswith("curl ") and "-F file=@" in sample["source"], name
        assert "413" in operation["responses"], name


def test_docs_pages_load_their_assets_from_the_service(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert "cdn." not in response.text and "fonts.googleapis" not in response.text, page
        assert "/docs/assets/favicon.png" in response.text, page
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "img-src 'self' data:" in policy, page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        response = client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 1000, asset
