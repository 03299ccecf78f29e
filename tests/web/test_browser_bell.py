"""In Chromium: the bell lights up when a shared grant breaks, and Reconnect from it repairs all."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from relink.demo import DEMO_PASSWORD
from tests.fixtures.app_server import signed_in
from tests.fixtures.browser import browser, screenshot, sign_in  # noqa: F401
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

pytestmark = pytest.mark.browser

MANAGER = "manager@sandbox.test"


def _break_the_shared_grant(live_url: str, sandbox: SandboxServer) -> None:
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    admin = signed_in(live_url, "admin@demo.relink.test", DEMO_PASSWORD)
    sweep_now(admin)


def _bell(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Notifications")).click()


def test_signing_in_lands_on_data_sources(browser: Browser, live_url: str) -> None:  # noqa: F811
    page = sign_in(browser, live_url, "admin@demo.relink.test")

    expect(page).to_have_url(re.compile("/data-sources"))
    page.goto("/inbox")
    expect(page.locator("#bell")).to_be_visible()


def test_the_red_dot_and_count_appear_within_seconds_of_the_revocation(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
) -> None:
    page = sign_in(browser, live_url, "staff@demo.relink.test")
    page.goto("/inbox")
    expect(page.locator("#bell .bell-dot")).to_be_hidden()

    _break_the_shared_grant(live_url, sandbox)

    expect(page.locator("#bell.has-unread .bell-dot")).to_be_visible(timeout=5_000)
    expect(page.locator("#bell .bell-count")).to_have_text("1")
    _bell(page)
    item = page.locator(".bell-item").first
    expect(item).to_contain_text("Sandbox Ads")
    expect(item).to_contain_text("Acme Dental")
    expect(item.get_by_role("button", name="Reconnect")).to_be_visible()
    screenshot(page, "bell-dropdown")


def test_reconnect_from_the_bell_repairs_all_eight_and_clears_the_dot(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
) -> None:
    _break_the_shared_grant(live_url, sandbox)
    page = sign_in(browser, live_url, "admin@demo.relink.test")
    page.goto("/inbox")
    expect(page.locator("#bell.has-unread")).to_be_visible()

    _bell(page)
    page.locator(".bell-item").first.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_role("heading", name=re.compile("Reconnect"))).to_be_visible()
    screenshot(page, "reconnect-page")
    page.get_by_role("button", name="Reconnect all 8").click()
    # The sandbox's own consent page: the login is already filled in from login_hint.
    expect(page.get_by_label("E-mail")).to_have_value(MANAGER)
    page.get_by_label("Password").fill("sandbox")
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", name="All reconnected")).to_be_visible()
    expect(page.get_by_text("8 data sources connected.")).to_be_visible()
    expect(page.locator("#bell .bell-dot")).to_be_hidden()
    screenshot(page, "reconnect-result")


def test_the_limited_staff_user_is_told_only_about_their_client(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
) -> None:
    _break_the_shared_grant(live_url, sandbox)
    page = sign_in(browser, live_url, "limited@demo.relink.test")
    page.goto("/inbox")

    _bell(page)

    items = page.locator(".bell-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Acme Dental")
    expect(items.first).not_to_contain_text("Bluebird Bakery")


def test_the_inbox_lists_history_and_filters(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
) -> None:
    _break_the_shared_grant(live_url, sandbox)
    page = sign_in(browser, live_url, "admin@demo.relink.test")

    page.goto("/inbox")
    expect(page.locator(".inbox-item")).to_have_count(1)
    page.get_by_label("Show").select_option("resolved")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile("show=resolved"))
    expect(page.locator(".inbox-item")).to_have_count(0)
    page.goto("/inbox")
    screenshot(page, "inbox")
