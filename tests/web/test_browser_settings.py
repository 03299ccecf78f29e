"""In Chromium: the settings forms, and connecting a new account through the sandbox's consent."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import browser, screenshot, sign_in  # noqa: F401
from tests.fixtures.demo import Demo

pytestmark = pytest.mark.browser

MANAGER = "manager@sandbox.test"
PHONE_WIDTH = 390


def _shot(page: Page, name: str) -> None:
    """A full-page picture from the top (scrolled, the sticky top bar would land mid-page)."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def _phone_shot(page: Page, name: str) -> None:
    """The same page at a phone's width, then back to the laptop's."""
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 860})
    _shot(page, f"{name}-phone")
    if size:
        page.set_viewport_size(size)


def test_the_notification_preference_is_saved_with_a_banner(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, "staff@demo.relink.test")
    page.goto("/settings/notifications")
    expect(page.get_by_role("radio", name=re.compile("Immediately"))).to_be_checked()

    page.get_by_role("radio", name=re.compile("Daily digest")).check()
    page.get_by_role("button", name="Save preference").click()

    expect(page.get_by_role("status")).to_contain_text("You will get one e-mail a day.")
    expect(page.get_by_role("radio", name=re.compile("Daily digest"))).to_be_checked()
    _shot(page, "settings-notifications")
    phone = sign_in(browser, live_url, "staff@demo.relink.test", width=PHONE_WIDTH)
    phone.goto("/settings/notifications")
    _shot(phone, "settings-notifications-phone")


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, "admin@demo.relink.test")
    page.goto("/settings/webhooks")

    page.get_by_label("Endpoint URL").fill("https://hooks.example.com/relink")
    page.get_by_label("import.failed").uncheck()
    page.get_by_role("button", name="Add endpoint").click()

    secret = page.locator("#signing-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    _shot(page, "settings-webhook-secret")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
    page.get_by_role("link", name="All endpoints").click()
    cell = page.get_by_role("cell", name="https://hooks.example.com/relink", exact=True)
    expect(cell).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("whsec_")
    _shot(page, "settings-webhooks")
    _phone_shot(page, "settings-webhooks")


def test_an_admin_sees_the_users_and_their_client_access(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, "admin@demo.relink.test")
    page.goto("/settings/users")

    page.get_by_role("radio", name=re.compile("Staff")).check()
    page.get_by_role("radio", name=re.compile("Chosen clients")).check()
    expect(page.get_by_label("Client this login belongs to")).to_be_hidden()
    _shot(page, "settings-users")
    page.get_by_label("Name").fill("Robin Reyes")
    page.get_by_label("E-mail").fill("robin@demo.relink.test")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("checkbox", name="Acme Dental").check()
    page.get_by_role("button", name="Add user").click()

    expect(page.get_by_role("status")).to_contain_text("robin@demo.relink.test can now sign in.")
    row = page.get_by_role("row", name=re.compile("Robin Reyes"))
    expect(row).to_contain_text("Acme Dental")
    phone = sign_in(browser, live_url, "admin@demo.relink.test", width=PHONE_WIDTH)
    phone.goto("/settings/users")
    _shot(phone, "settings-users-phone")


def test_connecting_a_sandbox_account_through_the_consent_page(
    browser: Browser,  # noqa: F811
    live_url: str,
    demo_seeded: Demo,
) -> None:
    page = sign_in(browser, live_url, "admin@demo.relink.test")
    page.goto("/connect")
    _shot(page, "connect-providers")

    page.get_by_role("button", name="Sign in with Sandbox Ads").click()
    page.get_by_label("E-mail").fill(MANAGER)
    page.get_by_label("Password").fill("sandbox")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(lambda url: "/oauth/callback" not in url and live_url in url)

    expect(page.get_by_role("heading", name="Choose accounts to link")).to_be_visible()
    expect(page.get_by_text("Not linked")).to_have_count(3)
    _shot(page, "connect-choose-accounts")
    _phone_shot(page, "connect-choose-accounts")
    client = demo_seeded.clients[11].name
    page.get_by_label("Client for Northwind Ads 09").select_option(label=client)
    page.get_by_role("button", name="Link chosen accounts").click()

    expect(page).to_have_url(re.compile(r"/data-sources\?done=connected$"))
    page.goto("/connect")
    page.get_by_role("button", name="Sign in with Sandbox Ads").click()
    page.get_by_label("E-mail").fill(MANAGER)
    page.get_by_label("Password").fill("sandbox")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(lambda url: "/oauth/callback" not in url and live_url in url)
    expect(page.get_by_role("row", name=re.compile("Northwind Ads 09"))).to_contain_text(client)


def test_an_api_key_with_a_space_is_refused_with_the_reason(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, "admin@demo.relink.test")
    page.goto("/connect")
    page.get_by_role("link", name=re.compile("Enter API key.*Sandbox Call Tracking")).click()

    page.get_by_label("API key").fill("sbx_live_abcd efghijklmnopqrstuvwxyz012345")
    page.get_by_label("Client", exact=True).select_option(label="Acme Dental")
    page.get_by_role("button", name="Verify and connect").click()

    expect(page.get_by_role("alert")).to_contain_text("remove the space inside the key")
    _shot(page, "connect-api-key-refused")
