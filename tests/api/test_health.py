from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"].values()) == {"ok"}


def test_metrics_count_requests_and_jobs(client: TestClient) -> None:
    client.get("/healthz")

    text = client.get("/metrics").text

    assert 'cc_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    client.get("/api/v1/jobs/abc")
    text = client.get("/metrics").text
    assert 'route="/api/v1/jobs/{job_id}",status="401"' in text
    assert 'cc_jobs{state="queued"} 0.0' in text


def test_openapi_documents_the_endpoints_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert "/api/v1/classifiers" in schema["paths"]
    assert "/api/v1/models/{run_id}/predict" in schema["paths"]
    assert schema["components"]["schemas"]["ClassifierCreate"]["examples"]
