"""Input that once answered 500 (issue 15) answers 4xx with a stable code; requests are bounded."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custom_classifier import limits
from custom_classifier.config import Settings
from factories import make_topic_folder

BAD_LOCATIONS = [
    ("users/alice/news\x00/etc", "invalid_location", "NUL byte"),
    ("~nosuchuser", "location_not_found", "found nothing"),
    ("a" * 10_000, "invalid_request", "at most 4095 characters (found 10000)"),
    ("users/alice/" + "b" * 300, "invalid_location", "one folder name may have at most 255"),
]


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _json(client: TestClient, method: str, url: str, headers: dict[str, str], body: bytes) -> Any:
    headers = {**headers, "Content-Type": "application/json"}
    return client.request(method, url, content=body, headers=headers)


@pytest.mark.parametrize(("location", "code", "said"), BAD_LOCATIONS)
def test_a_location_that_cannot_be_a_folder_answers_422(
    client: TestClient, alice: dict[str, str], location: str, code: str, said: str
) -> None:
    body = {"name": "news", "location": location, "labels": ["sport", "finance"]}

    created = client.post("/api/v1/classifiers", headers=alice, json=body)
    browsed = client.get("/api/v1/datasets/browse", headers=alice, params={"path": location})

    for response in (created, browsed):
        error = _error(response, 422, code)
        assert said in error["message"] and len(error["message"]) < 1000


def test_a_lone_surrogate_in_a_text_answers_422(client: TestClient, alice: dict[str, str]) -> None:
    url = f"/api/v1/models/{'0' * 32}/predict"

    one = _json(client, "POST", url, alice, b'{"text": "goal \\ud800 goal"}')
    many = _json(client, "POST", url, alice, b'{"texts": ["fine", "\\udfff"]}')
    location = _json(
        client,
        "POST",
        "/api/v1/classifiers",
        alice,
        b'{"name": "n", "location": "a\\ud800", "labels": ["a", "b"]}',
    )

    for response in (one, many, location):
        assert "lone surrogate" in _error(response, 422, "invalid_request")["message"]
    assert response.text.isascii()  # the surrogate is not echoed raw into the answer


def test_a_version_of_ten_thousand_digits_answers_4xx(
    client: TestClient, alice: dict[str, str]
) -> None:
    url = "/api/v1/classifiers/news/predict"

    huge = client.post(url, headers=alice, params={"version": "9" * 10_000}, json={"text": "x"})
    eleven = client.post(url, headers=alice, params={"version": "9" * 11}, json={"text": "x"})
    superscript = client.post(url, headers=alice, params={"version": "²"}, json={"text": "x"})

    _error(huge, 422, "invalid_request")
    assert "version number (1 to 2147483647)" in _error(eleven, 404, "model_not_found")["message"]
    _error(superscript, 404, "model_not_found")


def test_flags_are_booleans_and_a_batch_is_not_empty(
    client: TestClient, alice: dict[str, str], admin: dict[str, str]
) -> None:
    disabled = _json(client, "PATCH", "/api/v1/users/alice", admin, b'{"is_active": 0}')
    created = _json(client, "POST", "/api/v1/users", admin, b'{"username": "x", "is_admin": 1}')
    empty = client.post(f"/api/v1/models/{'0' * 32}/predict", headers=alice, json={"texts": []})

    for response in (disabled, created, empty):
        _error(response, 422, "invalid_request")
    assert client.get("/api/v1/me", headers=alice).status_code == 200  # alice is still active


def test_an_unknown_query_parameter_answers_422_naming_the_known_ones(
    client: TestClient, alice: dict[str, str]
) -> None:
    url = "/api/v1/classifiers/news/predict"

    typo = client.post(url, headers=alice, params={"verison": "2"}, json={"text": "x"})
    known = client.get("/api/v1/jobs", headers=alice, params={"limit": 5, "status": "queued"})

    error = _error(typo, 422, "invalid_request")
    assert (
        "unknown query parameter(s) ['verison']; this operation takes ['version']"
        in (error["message"])
    )
    assert known.status_code == 200


@pytest.mark.parametrize("version", ["true", "false", '"2"', "2.0", "1" + "0" * 5000])
def test_an_alias_version_is_a_whole_number_not_a_boolean(
    client: TestClient, alice: dict[str, str], version: str
) -> None:
    url = "/api/v1/classifiers/news/aliases/champion"

    response = _json(client, "PUT", url, alice, f'{{"version": {version}}}'.encode())

    _error(response, 422, "invalid_request")


@pytest.mark.parametrize(
    "training",
    [{"epochs": True}, {"epochs": 0}, {"epochs": 10**6}, {"batch_size": -1}, {"seed": 2**40}],
)
def test_training_options_outside_their_bounds_answer_422(
    client: TestClient, alice: dict[str, str], training: dict[str, Any]
) -> None:
    body = {"name": "news", "location": "x", "labels": ["a", "b"], "training": training}

    response = client.post("/api/v1/classifiers", headers=alice, json=body)

    error = _error(response, 422, "invalid_request")
    assert f"body.training.{next(iter(training))}" in error["message"]


def test_a_key_id_too_large_for_the_database_answers_422(
    client: TestClient, alice: dict[str, str]
) -> None:
    response = client.delete(f"/api/v1/users/alice/keys/{'9' * 30}", headers=alice)

    _error(response, 422, "invalid_request")


# --- bounded requests --------------------------------------------------------------------------


def test_too_many_labels_answer_422_with_the_limit(
    client: TestClient, alice: dict[str, str]
) -> None:
    labels = [f"label-{index}" for index in range(limits.MAX_LABELS + 1)]
    body = {"name": "news", "location": "x", "labels": labels}

    response = client.post("/api/v1/classifiers", headers=alice, json=body)

    error = _error(response, 422, "invalid_request")
    assert f"at most {limits.MAX_LABELS} items" in error["message"]


def test_unknown_labels_list_the_available_ones_once_not_once_per_label(
    client: TestClient, alice: dict[str, str], api_settings: Settings
) -> None:
    make_topic_folder(api_settings.resolved_data_roots[0], {"sport": 5, "finance": 5})
    unknown = [f"unknown-label-{index:04d}" for index in range(limits.MAX_LABELS)]
    body = {"name": "news", "location": "topics", "labels": unknown}

    response = client.post("/api/v1/classifiers", headers=alice, json=body)

    report = _error(response, 422, "invalid_dataset")["details"]["report"]
    assert len(report["problems"]) == limits.MAX_LABELS
    assert report["available_labels"] == ["finance", "sport"]
    assert response.text.count("'finance', 'sport'") == 1
    assert len(response.content) < 400_000  # was 8 MB: every problem listed every label


def test_a_text_over_the_limit_answers_422_saying_how_long_it_was(
    client: TestClient, alice: dict[str, str]
) -> None:
    text = "x" * (limits.MAX_TEXT_CHARS + 1)

    response = client.post(f"/api/v1/models/{'0' * 32}/predict", headers=alice, json={"text": text})

    error = _error(response, 422, "invalid_request")
    assert f"at most {limits.MAX_TEXT_CHARS} characters (found {len(text)})" in error["message"]
    assert text[:1000] not in response.text  # the input is not echoed


def test_too_many_texts_or_too_many_characters_in_all_answer_422(
    client: TestClient, alice: dict[str, str]
) -> None:
    url = f"/api/v1/models/{'0' * 32}/predict"
    many = ["a text"] * (limits.MAX_TEXTS + 1)
    long = ["y" * limits.MAX_TEXT_CHARS] * (limits.MAX_BATCH_CHARS // limits.MAX_TEXT_CHARS + 1)

    too_many = client.post(url, headers=alice, json={"texts": many})
    too_long = client.post(url, headers=alice, json={"texts": long})

    assert (
        f"at most {limits.MAX_TEXTS} items" in _error(too_many, 422, "invalid_request")["message"]
    )
    said = _error(too_long, 422, "invalid_request")["message"]
    assert f"at most {limits.MAX_BATCH_CHARS} are allowed in one request" in said


def test_a_body_over_the_limit_answers_413_before_it_is_read(
    client: TestClient, alice: dict[str, str]
) -> None:
    body = json.dumps({"text": "z" * limits.MAX_JSON_BODY_BYTES}).encode()

    declared = _json(client, "POST", f"/api/v1/models/{'0' * 32}/predict", alice, body)

    error = _error(declared, 413, "request_too_large")
    assert error["details"]["limit"] == limits.MAX_JSON_BODY_BYTES


def test_a_streamed_body_over_the_limit_answers_413(
    client: TestClient, alice: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(limits.MAX_JSON_BODY_BYTES // 65536 + 1):
            yield b"z" * 65536
        yield b'"}'

    headers = {**alice, "Content-Type": "application/json"}
    response = client.post(f"/api/v1/models/{'0' * 32}/predict", headers=headers, content=chunks())

    _error(response, 413, "request_too_large")


def test_an_upload_may_be_larger_than_a_json_body(
    client: TestClient, alice: dict[str, str]
) -> None:
    archive = io.BytesIO(b"not a zip" * (limits.MAX_JSON_BODY_BYTES // 9 + 1))

    response = client.post(
        "/api/v1/datasets", headers=alice, files={"file": ("big.zip", archive, "application/zip")}
    )

    _error(response, 422, "unsupported_upload")  # read whole, then refused as not a zip


# --- the OpenAPI document declares what routes answer ------------------------------------------


def test_the_openapi_document_declares_403_409_and_500(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = {
        f"{method.upper()} {path}": set(operation["responses"])
        for path, methods in paths.items()
        if path.startswith("/api/v1")
        for method, operation in methods.items()
    }

    assert "409" in operations["POST /api/v1/jobs/{job_id}/cancel"]
    for admin_route in (
        "GET /api/v1/users",
        "POST /api/v1/users",
        "PATCH /api/v1/users/{username}",
    ):
        assert "403" in operations[admin_route]
    assert all({"401", "500"} <= statuses for statuses in operations.values())
    assert "HTTPValidationError" not in json.dumps(paths)  # every error is the envelope
