"""/docs in Chromium with every other host out of reach: Swagger UI renders the operations of
/api/v1 from the package's files, and the content policy refuses nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route, expect

from tests.fixtures.browser import UI_TIMEOUT_MS, browser, screenshot  # noqa: F401

pytestmark = pytest.mark.browser


def test_docs_renders_the_api_with_no_other_host_reachable(
    live_url: str,
    browser: Browser,  # noqa: F811
) -> None:
    context = browser.new_context(base_url=live_url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(live_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    refused: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            refused.append(message.text)

    page.on("console", record)

    page.goto("/docs")

    # Swagger UI reads /openapi.json first; a fresh app builds it on that first request.
    listed = page.get_by_text("/api/v1/data-sources", exact=True).first
    expect(listed).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator(".opblock").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    screenshot(page, "api-docs")
    assert elsewhere == []
    assert refused == []
    context.close()
