"""The Dockerfiles and the scripts the images run, checked without building anything
(tests/images/ builds and runs the images)."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
DOCKER = REPOSITORY / "docker"


def shared_part(dockerfile: str, marker: str) -> str:
    text = (DOCKER / dockerfile).read_text()
    return text[text.index("ARG BASE_IMAGE") : text.index(marker)]


def test_api_and_worker_images_share_every_layer_but_the_last() -> None:
    api = shared_part("api.Dockerfile", "# The API (not the worker) from here on.")
    worker = shared_part("worker.Dockerfile", "# The worker (not the API) from here on.")
    assert api == worker
    assert "ENV CC_HOME" not in api  # set once, with the other variables
    assert "CC_HOME=/var/lib/custom-classifier" in api
    assert "mkdir -p /var/lib/custom-classifier && chown cc /var/lib/custom-classifier" in api


def test_every_image_takes_its_base_as_a_build_argument() -> None:
    for name in ("api", "worker", "mlflow"):
        text = (DOCKER / f"{name}.Dockerfile").read_text()
        assert "ARG BASE_IMAGE=python:3.11-slim-bookworm\n" in text, name
        assert "FROM ${BASE_IMAGE}\n" in text, name


def test_the_images_install_pyprojects_dependencies() -> None:
    script = DOCKER / "requirements-from-pyproject.sh"
    result = subprocess.run(
        ["sh", str(script), str(REPOSITORY / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=True,
    )
    declared = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    assert result.stdout.splitlines() == declared["dependencies"]


@pytest.fixture
def fake_pip(tmp_path: Path) -> Path:
    """A `pip` that records its arguments, first on PATH."""
    (tmp_path / "pip").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/pip.log"\n')
    (tmp_path / "pip").chmod(0o755)
    (tmp_path / "python3").symlink_to(sys.executable)
    return tmp_path


def install_torch(fake_pip: Path, index: str) -> tuple[str, str]:
    environment = {"PATH": f"{fake_pip}:/usr/bin:/bin", "TORCH_INDEX_URL": index}
    result = subprocess.run(
        ["sh", str(DOCKER / "install-torch.sh"), "2.13.0"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return (fake_pip / "pip.log").read_text().strip(), result.stderr


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def wheel_index() -> Iterator[str]:
    """A local HTTP server standing in for the PyTorch wheel index."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200 if self.path == "/whl/cpu/torch/" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_torch_comes_from_the_dedicated_index_when_it_answers(
    fake_pip: Path, wheel_index: str
) -> None:
    calls, messages = install_torch(fake_pip, wheel_index)
    assert calls == f"install torch==2.13.0 --index-url {wheel_index}"
    assert messages == ""


def test_torch_comes_from_the_configured_index_at_once_when_the_dedicated_one_is_down(
    fake_pip: Path,
) -> None:
    index = f"http://127.0.0.1:{closed_port()}/whl/cpu"
    calls, messages = install_torch(fake_pip, index)
    assert calls == "install torch==2.13.0"
    assert f"{index} does not answer; torch 2.13.0 from the configured index" in messages


def test_torch_from_the_configured_index_when_no_dedicated_one_is_given(fake_pip: Path) -> None:
    assert install_torch(fake_pip, "") == ("install torch==2.13.0", "")


def wait_for_dependencies(*args: str, **environment: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DOCKER / "wait-for-dependencies.py"), *args],
        env={"PATH": os.environ["PATH"], "CC_WAIT_LOG_SECONDS": "60", **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_local_or_unset_dependencies_start_the_command_at_once() -> None:
    process = wait_for_dependencies(
        "CC_DATABASE_URL", "CC_BROKER_URL", "--", "echo", "started", CC_DATABASE_URL="sqlite:///x"
    )
    stdout, stderr = process.communicate(timeout=30)
    assert (process.returncode, stdout, stderr) == (0, "started\n", "")


def test_a_dependency_that_is_down_is_waited_for_with_one_clear_line() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]  # bound, not listening: connections are refused
    process = wait_for_dependencies(
        "CC_BROKER_URL", "--", "echo", "started", CC_BROKER_URL=f"redis://127.0.0.1:{port}/0"
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith(f"waiting for CC_BROKER_URL (127.0.0.1:{port}): "), first
        assert "refused" in first and "retrying every 2 s" in first
        listener.listen()
        connection, _ = listener.accept()  # the next try: answer PING as Redis does
        with connection:
            assert connection.recv(64) == b"PING\r\n"
            connection.sendall(b"+PONG\r\n")
        stdout, rest = process.communicate(timeout=30)
    finally:
        process.kill()
        listener.close()
    assert process.returncode == 0
    assert stdout == "started\n"
    assert f"CC_BROKER_URL (127.0.0.1:{port}) answers after" in rest


def test_builds_get_this_machines_pip_settings_mounted_not_copied(tmp_path: Path) -> None:
    wheels, index, certificate = (
        tmp_path / "wheels",
        tmp_path / "pypi" / "simple",
        tmp_path / "ca.pem",
    )
    wheels.mkdir()
    index.mkdir(parents=True)
    certificate.write_text("")
    environment = {
        "PATH": os.environ["PATH"],
        "PIP_CONFIG_FILE": os.devnull,  # no configuration file: only these variables
        "PIP_FIND_LINKS": str(wheels),
        "PIP_EXTRA_INDEX_URL": f"file://{index} https://mirror.example/simple",
        "PIP_CERT": str(certificate),
        "PIP_DEFAULT_TIMEOUT": "60",
    }
    out = tmp_path / "pip.conf"
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "pip-config-for-builds.py"), str(out)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    mounted = "/run/host-pip"
    assert sorted(result.stdout.splitlines()) == sorted(
        [
            f"--volume={out}:/etc/pip.conf:ro",
            f"--volume={wheels}:{mounted}{wheels}:ro",
            f"--volume={index.parent}:{mounted}{index.parent}:ro",  # its links lead to ../files
            f"--volume={certificate}:{mounted}{certificate}:ro",
        ]
    )
    config = out.read_text()
    assert f"find-links = {mounted}{wheels}\n" in config
    assert f"extra-index-url = file://{mounted}{index} https://mirror.example/simple\n" in config
    assert f"cert = {mounted}{certificate}\n" in config
    assert "default-timeout = 60\n" in config
