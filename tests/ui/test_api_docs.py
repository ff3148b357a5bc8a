"""`/docs` (Swagger UI) and `/redoc` render in Chromium with every outside request refused.

The product runs offline: the pages, their scripts, styles, fonts and favicon must all come from
the service itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ui.pages import UiServer, shot

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def offline_tab(browser: Any, ui_server: UiServer) -> Iterator[tuple[Any, list[str]]]:
    """A tab where every request to another host is aborted (and recorded)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=ui_server.url)
    context.set_default_timeout(30_000)
    outside: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS or not url.startswith("http"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_local)
    tab = context.new_page()
    yield tab, outside
    context.close()


@pytest.fixture(scope="module")
def summaries(ui_server: UiServer) -> list[str]:
    schema = httpx.get(f"{ui_server.url}/openapi.json", timeout=30).json()
    return [op["summary"] for path in schema["paths"].values() for op in path.values()]


def test_swagger_ui_renders_every_operation_offline(
    offline_tab: tuple[Any, list[str]], summaries: list[str]
) -> None:
    tab, outside = offline_tab
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto("/docs")
    tab.locator(".opblock").first.wait_for()
    assert tab.locator(".opblock").count() == len(summaries)
    shown = tab.locator(".opblock-summary-description").all_inner_texts()
    assert sorted(shown) == sorted(summaries)
    assert "Train a classifier" in shown
    tab.locator(".opblock-summary", has_text="Upload a zip of label folders").click()
    tab.get_by_text("A .zip with one folder per label, e.g.").first.wait_for()
    shot(tab, "api-docs-swagger")
    assert (outside, errors) == ([], [])


def test_redoc_renders_every_operation_offline(
    offline_tab: tuple[Any, list[str]], summaries: list[str]
) -> None:
    tab, outside = offline_tab
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto("/redoc")
    tab.locator("h2", has_text="Train a classifier").wait_for()
    headings = tab.locator("h2").all_inner_texts()
    assert set(summaries) <= set(headings)
    tab.get_by_text("curl", exact=True).first.wait_for()  # the upload's code sample
    shot(tab, "api-docs-redoc")
    assert (outside, errors) == ([], [])
