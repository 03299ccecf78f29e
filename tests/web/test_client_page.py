"""A client's page: its data sources, the gap its reports admit to, backfill and history."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import DataSource
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
GAP_DAYS = 5


def _login(app_url: str, who: str) -> httpx.Client:
    return signed_in(app_url, f"{who}@demo.relink.test", DEMO_PASSWORD)


@pytest.fixture
async def outage(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> date:
    """The shared grant broke a few days ago: its data sources miss the days since."""
    gap_start = date.today() - timedelta(days=GAP_DAYS)
    await session.execute(
        update(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .values(complete_through=gap_start - timedelta(days=1))
    )
    await session.commit()
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    return gap_start


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%b')}"


def test_a_down_source_says_from_which_day_data_may_be_missing(
    admin: httpx.Client, demo: Demo, outage: date
) -> None:
    acme = demo.client_named("Acme Dental").id

    page = admin.get(f"/clients/{acme}").text

    banner = re.search(r'class="banner bad gap-banner".*?</div>', page, re.S)
    assert banner is not None
    text = re.sub(r"<[^>]+>", "", banner.group(0))
    assert "Data from Sandbox Ads" in text
    assert f"may be incomplete since {_day(outage)}" in text
    assert "reconnect to restore it" in text
    assert f'href="/grants/{demo.shared_grant_id}/reconnect"' in banner.group(0)


def test_the_timeline_shows_the_open_incident_in_words(
    admin: httpx.Client, demo: Demo, outage: date
) -> None:
    page = admin.get(f"/clients/{demo.client_named('Acme Dental').id}").text

    assert "Health over the last 90 days" in page
    item = re.search(r'<li class="tl-item">.*?</li>', page, re.S)
    assert item is not None
    assert "Reconnect needed" in item.group(0)
    assert "still open" in item.group(0)
    assert 'class="tl-bar k-reconnect_needed open"' in item.group(0)


def test_a_quiet_client_has_an_empty_timeline(admin: httpx.Client, demo: Demo) -> None:
    page = admin.get(f"/clients/{demo.client_named('Lumen Optics').id}").text

    assert "No incidents" in page
    assert "gap-banner" not in page


async def test_backfill_progress_counts_the_days_filled(
    admin: httpx.Client, demo: Demo, session: AsyncSession
) -> None:
    today = date.today()
    acme = demo.client_named("Acme Dental").id
    await session.execute(
        update(DataSource)
        .where(DataSource.client_id == acme)
        .values(backfill_from=today - timedelta(days=5), complete_through=today - timedelta(days=2))
    )
    await session.commit()

    page = admin.get(f"/clients/{acme}").text

    assert "Filling the gap: 4 of 6 days" in page
    assert re.search(r'<progress id="bf-\d+" max="6" value="4">', page)


def test_the_clients_list_summarises_health_for_whom_may_see_it(
    app_url: str, admin: httpx.Client, outage: date
) -> None:
    everything = admin.get("/clients").text
    limited = _login(app_url, "limited").get("/clients").text

    assert everything.count('class="client-link"') == 12
    assert "1 disconnected" in everything
    assert f"May be incomplete since {_day(outage)}" in re.sub(r"<[^>]+>", "", everything)
    names = set(re.findall(r'class="client-link"[^>]*>([^<]+)<', limited))
    assert names == {"Acme Dental", "Juniper Florist"}


def test_the_client_login_sees_its_own_page_only_and_no_actions(
    app_url: str, demo: Demo, outage: date
) -> None:
    client = _login(app_url, "client")
    own = demo.client_named("Acme Dental").id

    page = client.get(f"/clients/{own}")

    assert page.status_code == 200
    assert "may be incomplete since" in page.text
    for absent in ("row-menu", "/reconnect", "Health over the last", "Trash", "Disconnected"):
        assert absent not in page.text, absent
    for other in ("Bluebird Bakery", "Juniper Florist"):
        assert client.get(f"/clients/{demo.client_named(other).id}").status_code == 404
    assert re.findall(r'class="client-link"[^>]*>([^<]+)<', client.get("/clients").text) == [
        "Acme Dental"
    ]
