"""In Chromium: an admin creates a service token for the platform's importers, sees it once,
rotates it (the old value still works for the overlap) and revokes one; staff see no tab."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures.browser import browser, screenshot, sign_in  # noqa: F401
from tests.fixtures.server import LOOPBACK_TLS

pytestmark = pytest.mark.browser

VALUE = re.compile(r"rlk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def _works(url: str, value: str) -> bool:
    with httpx.Client(base_url=url, verify=LOOPBACK_TLS, timeout=10) as client:
        answer = client.get(
            "/api/v1/importer/data-sources", headers={"Authorization": f"Bearer {value}"}
        )
    return answer.status_code == 200


def test_an_admin_creates_rotates_and_revokes_a_service_token(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, "admin@demo.relink.test")
    page.goto("/settings/service-tokens")
    page.get_by_label("Name").fill("Warehouse importers")
    page.get_by_role("checkbox", name=re.compile("Confirmed days")).uncheck()

    page.get_by_role("button", name="Create service token").click()

    expect(page.get_by_role("heading", name=re.compile("Service token created"))).to_be_visible()
    first = VALUE.search(page.locator("#signing-secret").inner_text())
    assert first is not None and _works(live_url, first[0])
    screenshot(page, "settings-service-token-created")

    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row", name=re.compile("Warehouse importers"))
    expect(row).to_contain_text("credentials:read")
    expect(row).not_to_contain_text("imports:write")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("Rotate")).click()

    expect(page.get_by_role("heading", name=re.compile("Token rotated"))).to_be_visible()
    second = VALUE.search(page.locator("#signing-secret").inner_text())
    assert second is not None and second[0] != first[0]
    assert _works(live_url, first[0]) and _works(live_url, second[0])

    page.get_by_role("link", name="Done").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="Warehouse importers").first.get_by_role(
        "button", name=re.compile("Revoke")
    ).click()
    expect(page.get_by_role("status")).to_contain_text("was revoked")
    screenshot(page, "settings-service-tokens")


def test_staff_have_no_service_tokens_tab(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, "staff@demo.relink.test")
    page.goto("/settings/tokens")

    expect(page.get_by_role("link", name="Service tokens")).to_have_count(0)
    assert page.goto(f"{live_url}/settings/service-tokens").status in (403, 404)
