"""The Docker Compose files, checked statically (no Docker engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"
COMPOSE = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (make test installs it)"
)


def compose(
    *args: str, env_file: Path = DOCKER / ".env.example"
) -> subprocess.CompletedProcess[str]:
    files = [arg for name in args for arg in ("-f", str(DOCKER / name))]
    command = [str(COMPOSE), *files, "--env-file", str(env_file), "config"]
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    result = compose("docker-compose.yml")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid() -> None:
    result = subprocess.run(
        [str(COMPOSE), "-f", str(DOCKER / "docker-compose.yml")]
        + ["--env-file", str(DOCKER / ".env.example"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_gpu_override_is_valid_and_reserves_nvidia_devices() -> None:
    result = compose("docker-compose.yml", "docker-compose.gpu.yml")
    assert result.returncode == 0, result.stderr
    worker = yaml.safe_load(result.stdout)["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "download.pytorch.org/whl/cu" in worker["build"]["args"]["TORCH_INDEX_URL"]
    # Data-parallel training on several GPUs: NCCL needs more than Docker's 64 MB of /dev/shm.
    assert str(worker["shm_size"]).lower() in {"8gb", str(8 << 30)}


def test_compose_refuses_to_render_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / ".env"
    empty.write_text("")
    result = compose("docker-compose.yml", env_file=empty)
    assert result.returncode != 0
    assert "docker/.env" in result.stderr


def test_the_topology_has_every_service(rendered: dict[str, Any]) -> None:
    expected = {"api", "worker", "mlflow", "db", "admin-db", "redis", "nginx"}
    assert set(rendered["services"]) == expected


def test_only_nginx_publishes_ports(rendered: dict[str, Any]) -> None:
    published = {name for name, service in rendered["services"].items() if service.get("ports")}
    assert published == {"nginx"}


def test_services_start_after_their_dependencies_are_healthy(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    for name in ("api", "worker", "mlflow", "nginx"):
        conditions = {dep["condition"] for dep in services[name]["depends_on"].values()}
        assert conditions == {"service_healthy"}, name
    for name in ("db", "admin-db", "redis", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    for dockerfile in ("api.Dockerfile", "worker.Dockerfile", "mlflow.Dockerfile"):
        assert "HEALTHCHECK" in (DOCKER / dockerfile).read_text(), dockerfile


def test_databases_artifacts_and_datasets_live_in_named_volumes(rendered: dict[str, Any]) -> None:
    assert {"db-data", "admin-db-data", "mlflow-artifacts", "datasets"} <= set(rendered["volumes"])
    mounts = {
        name: {volume_source(volume) for volume in service.get("volumes", [])}
        for name, service in rendered["services"].items()
    }
    assert "db-data" in mounts["db"] and "admin-db-data" in mounts["admin-db"]
    assert "mlflow-artifacts" in mounts["mlflow"]
    assert "datasets" in mounts["api"] and "datasets" in mounts["worker"]


def volume_source(volume: str | dict[str, Any]) -> str:
    """docker-compose 1.x renders `source:target:mode` strings, Compose v2 mappings."""
    return volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]


def test_api_and_workers_run_in_production_with_celery(rendered: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        environment = rendered["services"][name]["environment"]
        assert environment["CC_ENVIRONMENT"] == "production"
        assert environment["CC_JOB_BACKEND"] == "celery"
        assert environment["CC_DATABASE_URL"].endswith("@db:5432/cc_metadata")
        assert environment["CC_ADMIN_DATABASE_URL"].endswith("@admin-db:5432/cc_admin")
        assert environment["CC_MLFLOW_TRACKING_URI"] == "http://mlflow:5000/mlflow"


def test_mlflow_keeps_its_auth_database_in_the_admin_database_server(
    rendered: dict[str, Any],
) -> None:
    environment = rendered["services"]["mlflow"]["environment"]
    assert environment["MLFLOW_BACKEND_STORE_URI"].endswith("@db:5432/mlflow")
    assert environment["MLFLOW_AUTH_DATABASE_URI"].endswith("@admin-db:5432/mlflow_auth")
    assert environment["MLFLOW_AUTH_ADMIN_USERNAME"] == "cc-service"


def test_replicas_are_read_by_podman_compose_too(rendered: dict[str, Any]) -> None:
    # podman-compose ignores `deploy.replicas` unless the mode is written out.
    for name in ("api", "worker"):
        assert rendered["services"][name]["deploy"]["mode"] == "replicated", name


def test_nginx_waits_for_its_upstreams_to_resolve(rendered: dict[str, Any]) -> None:
    volumes = rendered["services"]["nginx"]["volumes"]
    targets = {volume_target(volume): volume_source(volume) for volume in volumes}
    [script] = [s for t, s in targets.items() if t.startswith("/docker-entrypoint.d/")]
    assert Path(script).name == "wait-for-upstreams.sh"
    assert os.access(DOCKER / "nginx" / "wait-for-upstreams.sh", os.X_OK)


def test_the_services_start_through_a_wait_for_their_dependencies() -> None:
    api = (DOCKER / "api.Dockerfile").read_text()
    worker = (DOCKER / "worker.Dockerfile").read_text()
    assert 'ENTRYPOINT ["wait-for-dependencies", "CC_DATABASE_URL", "CC_ADMIN_DATABASE_URL"' in api
    assert 'ENTRYPOINT ["wait-for-dependencies", "CC_DATABASE_URL", "CC_BROKER_URL"' in worker
    entrypoint = (DOCKER / "mlflow" / "entrypoint.sh").read_text()
    assert "wait-for-dependencies MLFLOW_BACKEND_STORE_URI MLFLOW_AUTH_DATABASE_URI" in entrypoint


def volume_target(volume: str | dict[str, Any]) -> str:
    return volume.split(":")[1] if isinstance(volume, str) else volume["target"]
