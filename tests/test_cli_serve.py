"""`custom-classifier serve` on an empty CC_HOME: prints the admin key once and answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from custom_classifier.processes import free_port, stop_process


def test_serve_creates_the_admin_and_answers(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    environment = {**os.environ, "CC_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "custom_classifier.cli", "serve", "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, server)
        key = re.search(r"cc_[0-9a-f]+_\S+", log.read_text())
        assert key is not None, log.read_text()
        auth = {"Authorization": f"Bearer {key.group()}"}
        me = httpx.get(f"{base}/api/v1/me", headers=auth, timeout=60)
        ready = httpx.get(f"{base}/readyz", timeout=60)
    finally:
        stop_process(server, grace=30)

    assert me.json()["username"] == "admin" and me.json()["is_admin"]
    assert ready.status_code == 200


def _wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz in time")
