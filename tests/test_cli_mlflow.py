"""`custom-classifier mlflow-ui`: the MLflow UI on the embedded store, and nothing left after."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from custom_classifier.processes import free_port, stop_process

START_TIMEOUT = 240.0
"""`mlflow ui` creates and migrates the store first: tens of seconds on a busy machine."""


def test_the_mlflow_ui_serves_the_store_and_a_sigterm_stops_every_process(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    port = free_port()
    environment = {**os.environ, "CC_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [sys.executable, "-m", "custom_classifier.cli", "mlflow-ui", "--port", str(port)]
    log = tmp_path / "mlflow-ui.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    try:
        _wait_until_served(f"http://127.0.0.1:{port}/health", process, log)
        started = _processes_of(home)
        assert len(started) >= 3, started  # this command, the MLflow server, its job runner

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        left = _wait_until_gone(home, timeout=30)
    finally:
        stop_process(process, grace=5)
        for pid in _processes_of(home):  # only if the test failed: never leave them behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    assert left == [], f"still running after SIGTERM: {left}"
    assert "MLflow UI on http://127.0.0.1:" in log.read_text()


def _wait_until_served(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"mlflow-ui exited:\n{log.read_text()}"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"the MLflow UI did not answer in time:\n{log.read_text()}")


def _wait_until_gone(home: Path, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _processes_of(home)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def _processes_of(home: Path) -> list[int]:
    """Live processes started for this store: its path is in their command line or environment
    (MLflow hands the store to its server process in an environment variable)."""
    marker = str(home).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text and marker in text:
            found.append(int(entry.name))
    return found
