"""Every error has the same shape; malformed input is a 422, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

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


def test_missing_job_answers_404(client: TestClient, alice: dict[str, str]) -> None:
    response = client.get("/api/v1/jobs/0123456789abcdef0123456789abcdef", headers=alice)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"
