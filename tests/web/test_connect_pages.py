"""Connecting a new data source over HTTP: OAuth through the sandbox, and API keys."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import DataSource, Grant
from relink.sandbox.seed import API_KEY_ACCOUNTS
from tests.fixtures.app_server import run_app, signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.oauth_dance import consent
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
FREE_ACCOUNT = "cust-100-000-0109"
CHOICE_PAGE = re.compile(r"^/connect/grants/(\d+)/accounts$")


@pytest.fixture
def app_url(
    demo: Demo,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    with run_app(
        monkeypatch,
        database_url=database_url,
        secret_key=secret_key,
        sandbox_url=sandbox.url,
        embedded_worker=True,
    ) as running:
        yield running.url


def _sign_in_at_the_provider(client: httpx.Client, sandbox: SandboxServer) -> httpx.Response:
    """Choose Sandbox Ads, allow at its consent page, come back: the callback's answer."""
    started = client.post("/connect/sandbox/oauth")
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(sandbox.url)
    query = consent(sandbox, started.headers["location"], email=MANAGER)
    return client.get(f"/oauth/callback?{query}")


def _choice_page(callback: httpx.Response) -> str:
    """Where the callback sends a new connection: the account choice."""
    location: str = callback.headers["location"]
    assert CHOICE_PAGE.match(location), location
    return location


async def test_the_provider_list_puts_the_sandbox_first(admin: httpx.Client) -> None:
    page = admin.get("/connect").text

    positions = [
        page.index(name)
        for name in ("Sandbox Ads", "Sandbox Call Tracking", "Google Ads", "Stripe")
    ]
    assert positions[0] < positions[1] < min(positions[2:])
    assert 'action="/connect/sandbox/oauth"' in page
    assert 'href="/connect/sandbox_api/key"' in page
    # Google Ads needs our app registered there first: no button that would fail.
    assert 'action="/connect/google_ads/oauth"' not in page and "Not set up yet" in page


async def test_the_callback_leads_to_the_account_choice(
    admin: httpx.Client, sandbox: SandboxServer, demo: Demo
) -> None:
    callback = _sign_in_at_the_provider(admin, sandbox)

    assert callback.status_code == 303
    assert callback.headers["location"] == f"/connect/grants/{demo.shared_grant_id}/accounts"


async def test_the_choice_page_marks_the_accounts_already_linked(
    admin: httpx.Client, sandbox: SandboxServer, demo: Demo
) -> None:
    page = admin.get(_choice_page(_sign_in_at_the_provider(admin, sandbox))).text

    assert "Choose accounts to link" in page and MANAGER in page
    assert FREE_ACCOUNT in page and "cust-100-000-0110" in page
    assert page.count('<span class="status connected">') == 8
    assert page.count("Not linked") == 3  # the two free sub-accounts and the manager account
    assert page.count('<option value="">Don\'t link</option>') == 11


async def test_connecting_through_oauth_links_the_chosen_account_and_imports_it(
    admin: httpx.Client, sandbox: SandboxServer, session: AsyncSession, demo: Demo
) -> None:
    client_id, shared_grant_id = demo.clients[11].id, demo.shared_grant_id
    grants_before = await session.scalar(select(Grant.id).order_by(Grant.id.desc()))
    choice = _choice_page(_sign_in_at_the_provider(admin, sandbox))

    answer = admin.post(
        choice, data={f"link:{FREE_ACCOUNT}": str(client_id), "link:cust-100-000-0110": ""}
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/data-sources?done=connected"
    # The login was connected already: its grant is reused, no new one made.
    assert await session.scalar(select(Grant.id).order_by(Grant.id.desc())) == grants_before
    deadline = time.monotonic() + 30
    while True:
        session.expire_all()
        source = await session.scalar(
            select(DataSource).where(DataSource.external_account_id == FREE_ACCOUNT)
        )
        assert source is not None and source.grant_id == shared_grant_id
        assert source.client_id == client_id
        if source.last_ok_at is not None:
            break
        assert time.monotonic() < deadline, "the new data source did not import"
        await asyncio.sleep(0.2)
    listed = admin.get("/api/data-sources", params={"client_id": client_id}).json()["items"]
    [new] = [s for s in listed if s["external_account_id"] == FREE_ACCOUNT]
    assert new["status"] == "connected" and new["complete_through"] is not None


async def test_linking_an_account_twice_to_one_client_is_refused(
    admin: httpx.Client, sandbox: SandboxServer, session: AsyncSession, demo: Demo
) -> None:
    acme_source = await session.scalar(
        select(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .order_by(DataSource.id)
    )
    assert acme_source is not None
    choice = _choice_page(_sign_in_at_the_provider(admin, sandbox))

    answer = admin.post(
        choice, data={f"link:{acme_source.external_account_id}": str(acme_source.client_id)}
    )

    assert answer.status_code == 422 and "is already linked to that client" in answer.text


async def test_choosing_no_account_says_so(admin: httpx.Client, sandbox: SandboxServer) -> None:
    choice = _choice_page(_sign_in_at_the_provider(admin, sandbox))

    answer = admin.post(choice, data={f"link:{FREE_ACCOUNT}": ""})

    assert answer.status_code == 422 and "Choose a client for at least one account" in answer.text


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not-a-key", "a key starts with sbx_live_"),
        (" sbx_live_ab cdefghijklmnopqrstuvwxyz0123456", "the space inside the key"),
        ("sbx_live_" + "Z" * 32, "The sandbox rejected this API key"),
    ],
)
async def test_a_bad_api_key_is_refused_with_the_reason(
    admin: httpx.Client, session: AsyncSession, demo: Demo, key: str, reason: str
) -> None:
    client_id = demo.clients[0].id
    form = admin.get("/connect/sandbox_api/key").text
    assert "starts with sbx_live_ then 32 letters or digits" in form

    answer = admin.post("/connect/sandbox_api/key", data={"api_key": key, "client_id": client_id})

    assert answer.status_code == 422
    assert reason in answer.text
    assert f'<option value="{client_id}" selected>' in answer.text
    count = await session.scalar(
        select(DataSource.id).where(
            DataSource.client_id == client_id, DataSource.provider == "sandbox_api"
        )
    )
    assert count is None


async def test_a_good_api_key_connects_its_account_to_the_client(
    admin: httpx.Client, session: AsyncSession, demo: Demo
) -> None:
    client_id = demo.clients[0].id
    key_account = API_KEY_ACCOUNTS[0]

    # Pasted with stray spaces around it: trimmed, not refused.
    form = {"api_key": f"  {key_account.demo_api_key} ", "client_id": client_id}
    answer = admin.post("/connect/sandbox_api/key", data=form)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/data-sources?done=connected"
    source = await session.scalar(
        select(DataSource).where(
            DataSource.client_id == client_id, DataSource.provider == "sandbox_api"
        )
    )
    assert source is not None
    assert source.external_account_id == key_account.account.id
    assert source.external_account_name == key_account.account.name


async def test_a_client_login_cannot_connect(app_url: str) -> None:
    client_user = signed_in(app_url, "client@demo.relink.test", DEMO_PASSWORD)

    assert client_user.get("/connect").headers["location"] == "/data-sources"
    assert client_user.post("/connect/sandbox/oauth").status_code == 403
