"""In Chromium: the Data Sources page sorts and filters, its ⋯ menu works by keyboard,
Disconnect asks first and Restore undoes it, and a refused API key is explained."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import DataSource, Incident, IncidentDataSource
from relink.providers.taxonomy import ErrorClass
from tests.fixtures.app_server import signed_in
from tests.fixtures.browser import browser, screenshot, sign_in  # noqa: F401
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

pytestmark = pytest.mark.browser

MANAGER = "manager@sandbox.test"
SECOND = "harbor@sandbox.test"
WRONG_KEY = "sbx_live_" + "abcdefghijklmnopqrstuvwxyzABCDEF"
ADMIN = "admin@demo.relink.test"


def _in_database(database_url: str, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run ``work`` in a session of its own, from a sync test (see live_app.seed_demo_sync)."""

    async def run() -> None:
        database = Database(database_url)
        try:
            async with database.sessions() as session:
                await work(session)
                await session.commit()
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def _revoke(live_url: str, sandbox: SandboxServer, identity: str) -> None:
    sandbox.add_fault("revoke_grant", grant=identity)
    sweep_now(signed_in(live_url, ADMIN, DEMO_PASSWORD))


def _statuses(page: Page) -> list[str]:
    return [
        (cls or "").split("st-")[-1]
        for cls in page.locator("tr.ds-row").evaluate_all("rows => rows.map(r => r.className)")
    ]


def test_status_header_puts_disconnected_first_and_filters_stay_in_the_url(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
) -> None:
    _revoke(live_url, sandbox, SECOND)
    page = sign_in(browser, live_url, ADMIN)
    page.goto("/data-sources")
    expect(page.locator("tr.ds-row").first).to_contain_text("Acme Dental")

    page.get_by_role("link", name="Status").click()

    expect(page).to_have_url(re.compile(r"sort=status"))
    assert _statuses(page)[:3] == ["disconnected"] * 3
    assert set(_statuses(page)[3:]) == {"connected"}

    page.get_by_label("Status", exact=True).select_option("disconnected")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=disconnected.*sort=status|sort=status.*status="))
    expect(page.locator("tr.ds-row")).to_have_count(3)

    page.goto("/data-sources")
    page.get_by_label("Provider").select_option("sandbox_api")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"provider=sandbox_api"))
    expect(page.locator("tr.ds-row")).to_have_count(4)

    page.get_by_label("Sign-in").select_option("oauth2")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"provider=sandbox_api.*auth=oauth2"))
    expect(page.get_by_text("No data sources match these filters")).to_be_visible()
    page.get_by_role("link", name="Clear filters").first.click()

    page.get_by_label("Client", exact=True).fill("kestrel")
    page.get_by_role("option", name="Kestrel Motors").click()
    expect(page).to_have_url(re.compile(r"client=\d+"))
    expect(page.locator("tr.ds-row")).to_have_count(2)
    expect(page.get_by_label("Client", exact=True)).to_have_value("Kestrel Motors")
    page.get_by_role("link", name="Clear filters").first.click()

    page.get_by_label("Search").fill("juniper")
    page.get_by_label("Search").press("Enter")
    expect(page).to_have_url(re.compile(r"q=juniper"))
    expect(page.locator("tr.ds-row")).to_have_count(2)
    expect(page.get_by_label("Search")).to_have_value("juniper")


def test_the_page_at_laptop_and_phone_width(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
) -> None:
    _revoke(live_url, sandbox, MANAGER)
    page = sign_in(browser, live_url, "staff@demo.relink.test")
    page.goto("/data-sources?sort=status")
    expect(page.get_by_role("link", name="Reconnect all 8")).to_be_visible()
    screenshot(page, "data-sources")

    phone = sign_in(browser, live_url, "staff@demo.relink.test", width=390)
    phone.goto("/data-sources?sort=status")
    expect(phone.get_by_role("link", name="Reconnect all 8")).to_be_visible()
    # Nothing may stick out sideways on a phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "data-sources-phone")


def test_the_row_menu_works_from_the_keyboard(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, ADMIN)
    page.goto("/data-sources")
    menu = page.locator("details.row-menu").first
    summary = menu.locator("summary")

    summary.focus()
    page.keyboard.press("Enter")

    expect(menu.get_by_role("menuitem", name="Reconnect")).to_be_focused()
    expect(summary).to_have_attribute("aria-expanded", "true")
    screenshot(page, "data-sources-menu")
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Sync now")).to_be_focused()
    page.keyboard.press("End")
    expect(menu.get_by_role("menuitem", name="Disconnect…")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Reconnect")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu.get_by_role("menu")).to_be_hidden()
    expect(summary).to_be_focused()

    last = page.locator("details.row-menu").last
    last.locator("summary").click()
    disconnect = last.get_by_role("menuitem", name="Disconnect…")
    disconnect.scroll_into_view_if_needed()
    # The last row's menu hangs below the table: nothing may clip it.
    assert disconnect.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === e; }"
    )
    page.keyboard.press("Escape")

    summary.focus()
    page.keyboard.press(" ")
    expect(menu.get_by_role("menuitem", name="Reconnect")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # Pause
    expect(page.get_by_role("status")).to_contain_text("Paused.")
    expect(page.locator("tr.ds-row").first).to_have_class(re.compile("st-paused"))


def test_disconnect_asks_first_and_restore_brings_it_back(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, ADMIN)
    page.goto("/data-sources?q=acme")
    page.locator('summary[aria-label^="Actions for Acme Dental"]').click()
    page.get_by_role("menuitem", name="Disconnect…").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Disconnect Sandbox Ads from Acme Dental?"
    )
    expect(page.get_by_text("90 days of data")).to_be_visible()
    page.get_by_label("Type Acme Dental to confirm").fill("Acme")
    screenshot(page, "disconnect-confirm")
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("alert")).to_contain_text("Type the client's name, Acme Dental")
    page.get_by_label("Type Acme Dental to confirm").fill("Acme Dental")
    page.get_by_role("button", name="Disconnect").click()

    expect(page).to_have_url(re.compile(r"/clients/\d+\?done=disconnected"))
    expect(page.get_by_role("status")).to_contain_text("Disconnected.")
    trash = page.locator("#trash")
    expect(trash).to_contain_text("Northwind Ads 01")
    trash.get_by_role("button", name=re.compile("Restore")).click()

    expect(page.get_by_role("status")).to_contain_text("Restored from the trash")
    expect(page.locator("#trash")).to_contain_text("Nothing in the trash")
    expect(page.locator("tr.ds-row")).to_have_count(1)
    expect(page.locator("tr.ds-row .status")).to_have_text("Connected")


def test_the_client_page_shows_the_gap_the_history_and_the_trash(
    browser: Browser,  # noqa: F811
    live_url: str,
    sandbox: SandboxServer,
    database_url: str,
    demo_seeded: Demo,
) -> None:
    gap_start = date.today() - timedelta(days=6)
    acme = demo_seeded.client_named("Acme Dental").id

    async def old_gap(session: AsyncSession) -> None:
        await session.execute(
            update(DataSource)
            .where(DataSource.grant_id == demo_seeded.shared_grant_id)
            .values(complete_through=gap_start - timedelta(days=1))
        )
        # An outage of the provider last month, for the timeline's history.
        source_id = await session.scalar(select(DataSource.id).where(DataSource.client_id == acme))
        assert source_id is not None
        opened = datetime.now(UTC) - timedelta(days=40)
        incident = Incident(
            agency_id=demo_seeded.agency.id,
            key=f"data_source:{source_id}:provider_unavailable",
            error_class=ErrorClass.PROVIDER_UNAVAILABLE,
            kind="data_delayed",
            provider="sandbox",
            data_source_id=source_id,
            opened_at=opened,
            last_seen_at=opened,
            resolved_at=opened + timedelta(days=3),
            resolved_by="system",
        )
        session.add(incident)
        await session.flush()
        link = IncidentDataSource(
            incident_id=incident.id, data_source_id=source_id, agency_id=incident.agency_id
        )
        session.add(link)

    _in_database(database_url, old_gap)
    _revoke(live_url, sandbox, MANAGER)
    page = sign_in(browser, live_url, ADMIN)
    page.goto(f"/clients/{acme}")

    banner = page.locator(".gap-banner")
    expect(banner).to_contain_text(f"may be incomplete since {gap_start.day} {gap_start:%b}")
    expect(banner.get_by_role("link", name="Reconnect")).to_have_attribute(
        "href", f"/grants/{demo_seeded.shared_grant_id}/reconnect"
    )
    expect(page.locator(".tl-item").first).to_contain_text("Data delayed")
    expect(page.locator(".tl-item").last).to_contain_text("Reconnect needed")
    screenshot(page, "client-page")
    page.get_by_role("link", name="Clients").first.click()
    expect(page.locator("table.clients-table")).to_contain_text("1 disconnected")
    screenshot(page, "clients")


def test_a_refused_api_key_is_explained_in_the_providers_words(
    browser: Browser,  # noqa: F811
    live_url: str,
) -> None:
    page = sign_in(browser, live_url, ADMIN)
    page.goto("/data-sources?q=lumen")
    page.locator('summary[aria-label^="Actions for Lumen Optics"]').click()
    page.get_by_role("menuitem", name="Reconnect").click()
    expect(page.get_by_text("starts with sbx_live_ then 32 letters or digits")).to_be_visible()

    page.get_by_label("API key").fill(WRONG_KEY)
    page.get_by_role("button", name="Verify and save").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("refused this key")
    expect(alert).to_contain_text("The sandbox rejected this API key")
    expect(alert).to_contain_text("the previous key is still saved")
    expect(page.get_by_label("API key")).to_be_visible()
    screenshot(page, "api-key-refused")
