"""One real server (uvicorn, embedded defaults, tiny model) per test module, so each module starts
from a first-run server whatever the modules before it trained, and one Chromium for the session.

The tests drive Debian's Chromium through Playwright; they skip when it is not installed
(`make test` installs it). Screenshots of each page go to `test-artifacts/screenshots/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from custom_classifier.processes import free_port, stop_process
from custom_classifier.training.process_environment import SERVING_PROCESS_ENVIRONMENT
from factories import make_topic_folder
from ui.pages import CHROMIUM, CHROMIUM_ARGS, MIN_DOCS, UiServer


def _create_admin(home: Path) -> str:
    from custom_classifier.config import Settings
    from custom_classifier.services.runtime import Runtime
    from custom_classifier.services.users import ensure_initial_admin

    runtime = Runtime.open(Settings(home=home))
    try:
        with runtime.databases.admin.session() as session:
            created = ensure_initial_admin(session)
            assert created is not None
            return created.key
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def ui_server(
    tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    """`uvicorn` on a free loopback port, CC_HOME in tmp, the embedded job runner."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    home = tmp_path_factory.mktemp("ui-home")
    data_root = home / "data"
    make_topic_folder(data_root / "shared", {"sport": 14, "finance": 14, "cooking": 14})
    admin_key = _create_admin(home)
    port = free_port()
    env = {
        **os.environ,
        "CC_HOME": str(home),
        "CC_BASE_MODEL": str(tiny_base_model),
        "CC_MIN_DOCS_PER_LABEL": str(MIN_DOCS),
        "HF_HUB_OFFLINE": "1",
        **SERVING_PROCESS_ENVIRONMENT,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "custom_classifier.app:create_app"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, home / "server.log")
        yield UiServer(url=url, home=home, data_root=data_root, admin_key=admin_key)
    finally:
        stop_process(server, grace=30)
        log.close()


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the server did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Any, ui_server: UiServer) -> Iterator[Any]:
    """One signed-out tab for the module (a laptop-sized window)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=ui_server.url)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()
