"""The Data Sources page over HTTP: sorting, filters in the URL, scoping, and the row actions."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.grants.service import open_credentials
from relink.kit.crypto import SecretBox
from relink.models import DataSource, Grant
from relink.status import DataSourceStatus
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
SECOND = "harbor@sandbox.test"
OTHER_CLIENTS = ("Bluebird Bakery", "Cedar Law Group", "Harbor Hotel", "Kestrel Motors")
WRONG_KEY = "sbx_live_" + "abcdefghijklmnopqrstuvwxyzABCDEF"


def _login(app_url: str, who: str) -> httpx.Client:
    return signed_in(app_url, f"{who}@demo.relink.test", DEMO_PASSWORD)


@pytest.fixture
def broken(admin: httpx.Client, sandbox: SandboxServer) -> None:
    """The shared grant is revoked: its 8 data sources are disconnected."""
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)


def _rows(html: str) -> list[tuple[str, str]]:
    """(client name, status) of each table row, in page order."""
    found = re.findall(
        r'<tr class="ds-row st-(\w+)".*?class="client-link"[^>]*>([^<]+)</a>', html, re.S
    )
    return [(unescape(name), status) for status, name in found]


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr class="ds-row[^"]*" data-id="(\d+)"', html)


def _links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="(/data-sources\?[^"]*)"', html)]


def _form(html: str, action: str) -> dict[str, str]:
    """The hidden fields sent to ``action``: by its own form, or by a button of a row menu
    (they post one shared form of the page)."""
    form = re.search(rf' action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    if form is None:
        button = re.search(rf'<button[^>]*form="([\w-]+)" formaction="{re.escape(action)}"', html)
        assert button, f"nothing posts to {action}"
        form = re.search(rf'<form id="{button.group(1)}"[^>]*>(.*?)</form>', html, re.S)
        assert form, f"no form {button.group(1)} on the page"
    fields = re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1))
    return {name: unescape(value) for name, value in fields}


def test_sorting_by_status_puts_disconnected_first(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    # The second grant's clients come late in the alphabet: by client they are not first.
    sandbox.add_fault("revoke_grant", grant=SECOND)
    sweep_now(admin)
    by_client = admin.get("/data-sources").text
    assert _rows(by_client)[0] == ("Acme Dental", "connected")
    status_link = next(link for link in _links(by_client) if "sort=status" in link)

    page = admin.get(status_link)

    rows = _rows(page.text)
    assert [status for _, status in rows[:3]] == ["disconnected"] * 3
    assert {name for name, _ in rows[:3]} == {"Indigo Spa", "Juniper Florist", "Kestrel Motors"}
    assert {status for _, status in rows[3:]} == {"connected"}
    assert 'aria-sort="ascending"' in page.text
    assert "/data-sources?sort=client" in _links(page.text)


def test_the_broken_grant_gets_one_reconnect_all(
    admin: httpx.Client, broken: None, demo: Demo
) -> None:
    page = admin.get("/data-sources").text

    assert page.count("Reconnect all 8") == 1
    assert f'href="/grants/{demo.shared_grant_id}/reconnect"' in page
    assert "8 data sources need it" in page
    assert "Disconnected <b>8</b>" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "disconnected"}, 8),
        ({"provider": "sandbox_api"}, 4),
        ({"auth": "api_key"}, 4),
        ({"auth": "oauth2"}, 11),
        ({"q": "juniper"}, 2),
    ],
)
def test_each_filter_narrows_the_rows_and_stays_in_the_links(
    admin: httpx.Client, broken: None, params: dict[str, str], expected: int
) -> None:
    page = admin.get("/data-sources", params={**params, "limit": "1"})
    all_rows = admin.get("/data-sources", params=params).text

    assert len(_rows(all_rows)) == expected
    assert page.status_code == 200
    for link in _links(page.text):
        if "cursor=" in link or "sort=" in link:
            for key, value in params.items():
                assert f"{key}={value}" in link, link
    next_link = next(link for link in _links(page.text) if "cursor=" in link)
    following = admin.get(next_link)
    assert len(_rows(following.text)) == 1
    assert _ids(following.text) != _ids(page.text)


def test_the_client_filter_shows_one_client(admin: httpx.Client, demo: Demo) -> None:
    juniper = demo.client_named("Juniper Florist").id

    page = admin.get("/data-sources", params={"client": str(juniper)}).text

    assert {name for name, _ in _rows(page)} == {"Juniper Florist"}
    # The client filter is a type-ahead box (not one <option> per client): it shows the name.
    assert f'<input type="hidden" name="client" value="{juniper}">' in page
    assert 'value="Juniper Florist"' in page


def test_no_match_shows_an_empty_state_with_a_way_back(admin: httpx.Client) -> None:
    page = admin.get("/data-sources", params={"q": "no such client"}).text

    assert "No data sources match these filters" in page
    assert "Clear filters" in page


def test_limited_staff_never_sees_other_clients(app_url: str, demo: Demo, broken: None) -> None:
    limited = _login(app_url, "limited")

    for params in ({}, {"sort": "status"}, {"status": "disconnected"}, {"q": "a"}):
        page = limited.get("/data-sources", params=params).text
        assert {name for name, _ in _rows(page)} <= {"Acme Dental", "Juniper Florist"}
        for name in OTHER_CLIENTS:
            assert name not in page
    assert "Reconnect all 8" not in limited.get("/data-sources").text
    assert "Reconnect" in limited.get("/data-sources").text
    other = demo.client_named("Bluebird Bakery").id
    assert limited.get(f"/clients/{other}").status_code == 404
    assert limited.get("/data-sources", params={"client": str(other)}).text.count("ds-row") == 0


def test_the_client_login_sees_its_client_read_only(app_url: str, broken: None) -> None:
    client = _login(app_url, "client")

    page = client.get("/data-sources").text

    assert {name for name, _ in _rows(page)} == {"Acme Dental"}
    for name in OTHER_CLIENTS:
        assert name not in page
    assert "row-menu" not in page
    assert 'formaction="/data-sources' not in page and "ds-row-actions" not in page
    assert "Disconnected" not in page
    assert "Data delayed" in page


async def test_pause_resume_and_sync_need_the_csrf_token(
    app_url: str, admin: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    source_id = await session.scalar(
        select(DataSource.id).where(DataSource.client_id == demo.client_named("Acme Dental").id)
    )
    listing = admin.get("/data-sources", params={"q": "acme"}).text
    fields = _form(listing, f"/data-sources/{source_id}/pause")
    assert fields["next"] == "/data-sources?q=acme"
    bare = httpx.Client(base_url=app_url, cookies=admin.cookies)

    refused = bare.post(f"/data-sources/{source_id}/pause", data={"next": fields["next"]})
    paused = bare.post(f"/data-sources/{source_id}/pause", data=fields)

    assert refused.status_code == 403
    assert paused.status_code == 303
    assert paused.headers["location"] == "/data-sources?q=acme&done=paused"
    page = bare.get(paused.headers["location"]).text
    assert "Paused. Relink stops importing" in page
    assert _rows(page) == [("Acme Dental", "paused")]
    resumed = bare.post(
        f"/data-sources/{source_id}/resume", data=_form(page, f"/data-sources/{source_id}/resume")
    )
    assert resumed.headers["location"].endswith("done=resumed")
    synced = bare.post(
        f"/data-sources/{source_id}/sync",
        data=_form(bare.get("/data-sources").text, f"/data-sources/{source_id}/sync"),
    )
    assert synced.headers["location"] == "/data-sources?done=synced"
    session.expire_all()
    assert (
        await session.scalar(select(DataSource.status).where(DataSource.id == source_id))
        is DataSourceStatus.CONNECTED
    )


async def test_disconnect_names_what_goes_and_needs_the_name_then_restore_brings_it_back(
    app_url: str, admin: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    acme = demo.client_named("Acme Dental").id
    source_id = await session.scalar(select(DataSource.id).where(DataSource.client_id == acme))
    confirm_page = admin.get(f"/data-sources/{source_id}/disconnect").text
    assert "Disconnect Sandbox Ads from Acme Dental?" in confirm_page
    assert "90 days of data" in confirm_page
    assert "purged on" in confirm_page
    fields = _form(confirm_page, f"/data-sources/{source_id}/disconnect")

    wrong = admin.post(f"/data-sources/{source_id}/disconnect", data={**fields, "confirm": "Acme"})
    done = admin.post(
        f"/data-sources/{source_id}/disconnect", data={**fields, "confirm": "acme dental"}
    )

    assert wrong.status_code == 422
    assert "type the client&#39;s name" in wrong.text.lower()
    assert done.status_code == 303
    assert done.headers["location"] == f"/clients/{acme}?done=disconnected#trash"
    client_page = admin.get(f"/clients/{acme}").text
    assert "Trash" in client_page and f"/data-sources/{source_id}/restore" in client_page
    assert "Acme Dental" not in {n for n, _ in _rows(admin.get("/data-sources").text)}
    trash = admin.get("/data-sources", params={"status": "removed"}).text
    assert _rows(trash) == [("Acme Dental", "removed")]

    restored = admin.post(
        f"/data-sources/{source_id}/restore",
        data=_form(client_page, f"/data-sources/{source_id}/restore"),
    )

    assert restored.headers["location"] == f"/clients/{acme}?done=restored"
    assert ("Acme Dental", "connected") in _rows(admin.get("/data-sources").text)


async def test_a_refused_api_key_shows_the_providers_words_and_keeps_the_old_key(
    admin: httpx.Client, session: AsyncSession, demo: Demo, box: SecretBox
) -> None:
    source = await session.scalar(
        select(DataSource).where(
            DataSource.client_id == demo.client_named("Lumen Optics").id,
            DataSource.provider == "sandbox_api",
        )
    )
    assert source is not None
    source_id, grant_id = source.id, source.grant_id
    grant = await session.get(Grant, grant_id)
    assert grant is not None
    old_key = (await open_credentials(session, box=box, grant=grant))["api_key"]
    form = admin.get(f"/data-sources/{source_id}/credentials").text
    assert "starts with sbx_live_ then 32 letters or digits" in form
    assert '<label for="api_key">API key</label>' in form

    refused = admin.post(
        f"/data-sources/{source_id}/credentials",
        data={**_form(form, f"/data-sources/{source_id}/credentials"), "api_key": WRONG_KEY},
    )

    assert refused.status_code == 422
    assert "refused this key" in refused.text
    assert "The sandbox rejected this API key" in refused.text
    assert '<label for="api_key">API key</label>' in refused.text
    session.expire_all()
    grant = await session.get(Grant, grant_id)
    assert grant is not None
    assert (await open_credentials(session, box=box, grant=grant))["api_key"] == old_key
