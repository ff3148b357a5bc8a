"""The production images run as docker/docker-compose.yml says, under podman-compose.

`build_images` builds them with `scripts/build-images.sh` (podman's layer cache makes a second
build take seconds); `running_stack` starts the compose project with the test's additions
(`tests/images/compose.test.yml`: stand-ins for the official PostgreSQL, Redis and NGINX images,
a tiny base model, short heartbeats), waits until NGINX answers `/readyz`, and on exit brings
everything down and checks that no container, volume, network or mount of it is left.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from custom_classifier.processes import free_ports

REPOSITORY = Path(__file__).resolve().parents[2]
COMPOSE_FILES = (
    REPOSITORY / "docker" / "docker-compose.yml",
    REPOSITORY / "tests" / "images" / "compose.test.yml",
)
PROJECT = "cc-images-test"
CONTAINERS_CONF = REPOSITORY / "docker" / "podman" / "containers.conf"
INSTALL_HINT = (
    "`make test` installs them as root with apt-get (scripts/install-system-packages.sh) and "
    "podman-compose with the dev dependencies (pip install -e '.[dev]')"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # podman-compose colours its log lines
_KEY = re.compile(r"\bcc_[0-9a-f]+_[A-Za-z0-9_-]+")


def podman_environment() -> dict[str, str]:
    """The environment for podman and podman-compose: the repository's containers.conf."""
    return {
        **os.environ,
        "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF)),
    }


def podman_compose() -> str | None:
    """podman-compose of this Python environment (a dev dependency), else the one on PATH."""
    beside = Path(sys.executable).parent / "podman-compose"
    return str(beside) if beside.exists() else shutil.which("podman-compose")


def missing_requirements() -> list[str]:
    """What the images test needs and does not find here (empty: all there)."""
    missing = [name for name in ("podman", "debootstrap") if shutil.which(name) is None]
    if podman_compose() is None:
        missing.append("podman-compose")
    if not missing:
        info = subprocess.run(
            ["podman", "info"],
            env=podman_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if info.returncode != 0:
            missing.append(f"a working podman (`podman info` failed: {info.stderr.strip()[-500:]})")
    return missing


def build_images(log: Path) -> float:
    """Build the three images and the stand-ins; the seconds it took. The build's output goes to
    `log`; its end is in the error when it fails."""
    began = time.monotonic()
    command = ["nice", "-n", "10", "bash", str(REPOSITORY / "scripts" / "build-images.sh")]
    command += ["--stand-ins", *_base_options()]
    with log.open("w") as output:
        result = subprocess.run(
            command,
            env=podman_environment() | {"ENGINE": "podman"},
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=3600,
        )
    if result.returncode != 0:
        raise RuntimeError(f"building the images failed:\n{_tail(log, 60)}")
    return time.monotonic() - began


def _base_options() -> list[str]:
    """A Debian base made here by default (no registry is needed); CC_TEST_BASE_IMAGE names
    another (python:3.11-slim-bookworm where a registry is reachable)."""
    base = os.environ.get("CC_TEST_BASE_IMAGE")
    return ["--base", base] if base else ["--debian-base"]


@dataclass
class Stack:
    """A started compose project, reached through NGINX only."""

    root: Path
    url: str
    env_file: Path
    admin_key: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    mount_points: set[str] = field(default_factory=set)
    """The containers' root folders and network namespaces: unmounted once it is down."""

    def compose(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return _compose(self.env_file, *args, timeout=timeout, check=check)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=180.0)

    def containers(self, service: str) -> list[str]:
        """Names of the service's containers (one per replica)."""
        return _podman_lines(
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label=io.podman.compose.project={PROJECT}",
            "--filter",
            f"label=io.podman.compose.service={service}",
        )

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args],
            env=podman_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def inspect(self, container: str, template: str) -> str:
        """`podman inspect --format TEMPLATE` of one container."""
        result = self.podman("inspect", "--format", template, container)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def logs(self, lines: int = 40) -> str:
        names = _podman_lines(
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label=io.podman.compose.project={PROJECT}",
        )
        parts = []
        for name in names:
            result = self.podman("logs", "--tail", str(lines), name)
            parts.append(f"--- {name} ---\n{result.stdout}{result.stderr}")
        return "\n".join(parts)


@contextmanager
def running_stack(root: Path, model_dir: Path) -> Iterator[Stack]:
    """Start the project under `root` with `model_dir` as its base model; stop it on exit."""
    http_port, https_port = free_ports(2)
    url = f"http://127.0.0.1:{http_port}"
    env_file = _write_env_file(root, url, http_port, https_port, model_dir)
    stack = Stack(root, url, env_file)
    _down(env_file)  # what a killed earlier run may have left
    try:
        began = time.monotonic()
        stack.compose("up", "-d", timeout=600)
        stack.timings["up_seconds"] = time.monotonic() - began
        stack.mount_points = _mount_points()
        _wait_until_ready(stack, began)
        stack.admin_key = _admin_key(stack)
        yield stack
    finally:
        _down(env_file)
        leftovers = _leftovers(stack.mount_points)
        if leftovers:
            _force_remove()
            raise AssertionError(f"left after `podman-compose down`: {leftovers}")


def _write_env_file(root: Path, url: str, http_port: int, https_port: int, model_dir: Path) -> Path:
    """The env file docker/.env.example describes, with fresh secrets and the test's settings."""
    secret = secrets.token_urlsafe
    values = {
        "CC_SECRET_KEY": secret(32),
        "CC_MLFLOW_USERNAME": "cc-service",
        "CC_MLFLOW_PASSWORD": secret(24),
        "POSTGRES_PASSWORD": secret(24),
        "ADMIN_DB_PASSWORD": secret(24),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret(32),
        "CC_PUBLIC_URL": url,
        "CC_PUBLIC_HOST": "127.0.0.1",
        # Loopback only: nothing outside this machine reaches the test's NGINX.
        "CC_HTTP_PORT": f"127.0.0.1:{http_port}",
        "CC_HTTPS_PORT": f"127.0.0.1:{https_port}",
        "CC_API_REPLICAS": "2",
        "CC_WORKER_REPLICAS": "1",
        "CC_MIN_DOCS_PER_LABEL": "5",
        "CC_BASE_MODEL": "/models/base",
        "CC_TEST_MODEL_DIR": str(model_dir),
        "MLFLOW_WORKERS": "1",
    }
    path = root / "test.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def _compose(
    env_file: Path, *args: str, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [str(podman_compose()), "-p", PROJECT, "--env-file", str(env_file)]
    for compose_file in COMPOSE_FILES:
        command += ["-f", str(compose_file)]
    result = subprocess.run(
        [*command, *args], env=podman_environment(), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"podman-compose {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def _wait_until_ready(stack: Stack, began: float, timeout: float = 600) -> None:
    """NGINX answers /readyz (the API's four checks) and the worker answers a ping. One
    request at a time, each given time to answer: on a busy machine, polls abandoned after a
    few seconds piled up in the API and exhausted MLflow's connection pool."""
    deadline = time.monotonic() + timeout
    ready = False
    while time.monotonic() < deadline:
        if not ready and _ok(f"{stack.url}/readyz"):
            stack.timings["readyz_seconds"] = time.monotonic() - began
            ready = True
        if ready and _worker_answers(stack):
            stack.timings["ready_seconds"] = time.monotonic() - began
            return
        time.sleep(2.0)
    raise RuntimeError(f"the compose project was not ready after {timeout:.0f} s\n{stack.logs()}")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=300.0).status_code == 200
    except httpx.HTTPError:
        return False


def _worker_answers(stack: Stack) -> bool:
    [worker] = stack.containers("worker")
    result = stack.podman("exec", worker, "custom-classifier", "worker", "--ping", timeout=60)
    return result.returncode == 0


def _admin_key(stack: Stack) -> str:
    """The first admin's key, from the API's log, as README.md says to find it."""
    logs = _ANSI.sub("", stack.compose("logs", "api").stdout)
    announced = logs.find("Created the admin user 'admin'")
    if announced >= 0 and (key := _KEY.search(logs, announced)):
        return key.group(0)
    raise RuntimeError(f"no API replica announced the admin's key:\n{logs[-3000:]}")


def _down(env_file: Path) -> None:
    _compose(env_file, "down", "-v", "--remove-orphans", "-t", "10", timeout=300, check=False)


def _podman_lines(*args: str) -> list[str]:
    result = subprocess.run(
        ["podman", *args], env=podman_environment(), capture_output=True, text=True, timeout=120
    )
    return [line for line in result.stdout.splitlines() if line.strip()]


def _mount_points() -> set[str]:
    label = f"label=io.podman.compose.project={PROJECT}"
    template = "{{.GraphDriver.Data.MergedDir}} {{.NetworkSettings.SandboxKey}}"
    points = set()
    for name in _podman_lines("ps", "-a", "--format", "{{.Names}}", "--filter", label):
        points.update(" ".join(_podman_lines("inspect", "--format", template, name)).split())
    return points


def _leftovers(mount_points: set[str]) -> dict[str, list[str]]:
    """Containers, volumes, networks and mounts of the project still there."""
    label = f"label=io.podman.compose.project={PROJECT}"
    found = {
        "containers": _podman_lines("ps", "-a", "--format", "{{.Names}}", "--filter", label),
        "volumes": [
            v
            for v in _podman_lines("volume", "ls", "--format", "{{.Name}}")
            if v.startswith(f"{PROJECT}_")
        ],
        "networks": [
            n
            for n in _podman_lines("network", "ls", "--format", "{{.Name}}")
            if n.startswith(f"{PROJECT}_")
        ],
        "mounts": [
            line
            for line in Path("/proc/mounts").read_text().splitlines()
            if PROJECT in line or line.split()[1] in mount_points
        ],
    }
    return {kind: names for kind, names in found.items() if names}


def _force_remove() -> None:
    label = f"label=io.podman.compose.project={PROJECT}"
    for name in _podman_lines("ps", "-a", "--format", "{{.Names}}", "--filter", label):
        _podman_lines("rm", "-f", "-v", name)
    for volume in _podman_lines("volume", "ls", "--format", "{{.Name}}"):
        if volume.startswith(f"{PROJECT}_"):
            _podman_lines("volume", "rm", "-f", volume)
    for network in _podman_lines("network", "ls", "--format", "{{.Name}}"):
        if network.startswith(f"{PROJECT}_"):
            _podman_lines("network", "rm", "-f", network)


def _tail(path: Path, lines: int) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
