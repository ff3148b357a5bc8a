"""API keys: missing, malformed, unknown, revoked keys and disabled users answer 401."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_missing_key_answers_401_with_error_body(client: TestClient) -> None:
    response = client.get("/api/v1/jobs")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_bad_keys_answer_401(client: TestClient, alice: dict[str, str]) -> None:
    good = alice["Authorization"]
    for header in ("Bearer nonsense", "Bearer cc_abc_def", good[:-2] + "xx", "Basic abc"):
        response = client.get("/api/v1/jobs", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "unauthenticated"


def test_a_valid_key_authenticates(client: TestClient, alice: dict[str, str]) -> None:
    assert client.get("/api/v1/me", headers=alice).json()["username"] == "alice"


def test_admin_creates_a_user_whose_key_works(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/api/v1/users", headers=admin, json={"username": "carol"})

    assert created.status_code == 201
    key = created.json()["api_key"]["key"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.json() == {**me.json(), "username": "carol", "is_admin": False}


def test_revoked_key_answers_401(client: TestClient, alice: dict[str, str]) -> None:
    keys = client.get("/api/v1/users/alice/keys", headers=alice).json()["data"]

    revoked = client.delete(f"/api/v1/users/alice/keys/{keys[0]['id']}", headers=alice)

    assert revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/me", headers=alice).status_code == 401


def test_disabled_user_answers_401(
    client: TestClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    client.patch("/api/v1/users/alice", headers=admin, json={"is_active": False})

    assert client.get("/api/v1/me", headers=alice).status_code == 401


def test_only_admins_manage_users(client: TestClient, alice: dict[str, str]) -> None:
    response = client.post("/api/v1/users", headers=alice, json={"username": "mallory"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_user_cannot_see_another_users_keys(
    client: TestClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    assert client.get("/api/v1/users/bob/keys", headers=alice).status_code == 404
    assert client.post("/api/v1/users/bob/keys", headers=alice, json={}).status_code == 404
