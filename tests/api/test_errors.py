"""Every error has the same shape; malformed input is a 422, never a 500."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from custom_classifier.app import create_app
from custom_classifier.config import Settings
from support.live_server import live_server

MALFORMED = [
    ("POST", "/api/v1/classifiers", b"{not json"),
    ("POST", "/api/v1/classifiers", b"[]"),
    ("POST", "/api/v1/classifiers", b'{"name": "x"}'),
    ("POST", "/api/v1/classifiers", b'{"name": "../x", "location": "a", "labels": ["a", "b"]}'),
    ("POST", "/api/v1/classifiers", b'{"name": "x", "location": "a", "labels": "ab"}'),
    (
        "POST",
        "/api/v1/classifiers",
        b'{"name": "x", "location": "a", "labels": ["a", "b"], "training": {"epochs": "many"}}',
    ),
    (
        "POST",
        "/api/v1/classifiers",
        b'{"name": "x", "location": "a", "labels": ["a", "b"], "training": {"unknown": 1}}',
    ),
    ("POST", "/api/v1/models/abc/predict", b'{"text": "a", "texts": ["b"]}'),
    ("POST", "/api/v1/models/abc/predict", b"{}"),
    ("POST", "/api/v1/models/abc/predict", b'{"texts": [1, 2]}'),
    ("POST", "/api/v1/models/abc/predict", b"\xff\xfe\x00binary"),
    ("PUT", "/api/v1/classifiers/x/aliases/champion", b'{"version": 0}'),
    ("PUT", "/api/v1/classifiers/x/aliases/champion/min-score", b'{"min_score": true}'),
    ("PUT", "/api/v1/classifiers/x/aliases/champion/min-score", b'{"min_score": NaN}'),
    ("POST", "/api/v1/datasets", b"not multipart"),
    ("GET", "/api/v1/jobs?limit=-1", b""),
    ("GET", "/api/v1/jobs?status=exploded", b""),
]


@pytest.mark.parametrize(("method", "path", "body"), MALFORMED)
def test_malformed_requests_answer_422(
    client: TestClient, alice: dict[str, str], method: str, path: str, body: bytes
) -> None:
    headers = {**alice, "Content-Type": "application/json"}

    response = client.request(method, path, content=body, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"]


def test_unknown_route_answers_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found", "details": {}}
    }


def test_unexpected_errors_answer_500_without_traceback(
    client: TestClient, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_classifier.services import jobs

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(jobs, "list_jobs", explode)

    response = client.get("/api/v1/jobs", headers=alice)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_an_unexpected_error_is_logged_with_its_id_and_the_connection_stays_open(
    api_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(api_settings, run_jobs=False)

    @app.get("/test-only/explode")
    def explode() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/test-only/peer")
    def peer(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    caplog.set_level(logging.ERROR, logger="custom_classifier")
    with live_server(app) as url, httpx.Client(base_url=url) as client:
        before = client.get("/test-only/peer").json()["port"]
        failed = client.get("/test-only/explode")
        after = client.get("/test-only/peer")

    error = failed.json()["error"]
    assert failed.status_code == 500 and error["code"] == "internal_error"
    assert error["details"]["error_id"] in error["message"]
    assert "secret" not in failed.text and "Traceback" not in failed.text
    assert after.status_code == 200 and after.json()["port"] == before  # the same connection
    logged = [r for r in caplog.records if error["details"]["error_id"] in r.getMessage()]
    assert logged and "secret internal detail" in caplog.text


def test_a_wrong_method_answers_405_with_the_allowed_methods(
    client: TestClient, alice: dict[str, str]
) -> None:
    response = client.delete("/api/v1/jobs", headers=alice)
    two_routes = client.delete("/api/v1/classifiers", headers=alice)  # GET and POST are two routes

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert two_routes.status_code == 405 and two_routes.headers["allow"] == "GET, POST"


def test_missing_job_answers_404(client: TestClient, alice: dict[str, str]) -> None:
    response = client.get("/api/v1/jobs/0123456789abcdef0123456789abcdef", headers=alice)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"
