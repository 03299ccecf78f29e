"""Settings, API tokens over HTTP: create (the value shown once), list, revoke."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.values import parse_value
from relink.app import create_app
from relink.auth.csrf import csrf_protect
from relink.config import Settings, get_settings
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.models import ApiToken, Event, TokenScope
from relink.web import settings_tokens
from tests.api_tokens.conftest import LIMITED, STAFF, made_token, script
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.server import serve_in_thread

VALUE = re.compile(r"rlk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def _with_tokens_page(app: FastAPI) -> FastAPI:
    """The app with the tokens page, mounted as app.py mounts the settings pages (if it does
    not yet)."""
    if not any(getattr(r, "path", "") == "/settings/tokens" for r in app.routes):
        app.include_router(settings_tokens.router, dependencies=[Depends(csrf_protect)])
    return app


@pytest.fixture
def page_url(
    demo: Demo, database_url: str, secret_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("RELINK_SECRET_KEYS", secret_key)
    get_settings.cache_clear()
    app = create_app(database=Database(database_url), settings=Settings(embedded_worker=False))
    with serve_in_thread(_with_tokens_page(app)) as running:
        yield running.url


@pytest.fixture
def staff(page_url: str) -> httpx.Client:
    return signed_in(page_url, STAFF, DEMO_PASSWORD)


def _create(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post("/settings/tokens", data={"name": "Looker Studio", "scope": "read", **form})


def test_a_token_made_on_the_page_is_shown_once_and_works(
    staff: httpx.Client, page_url: str
) -> None:
    created = _create(staff, scope="write", expires_in_days="30")

    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    shown = VALUE.findall(created.text)
    assert len(set(shown)) == 1
    value = shown[0]
    with script(page_url, value) as client:
        assert client.get("/api/me").json()["email"] == STAFF

    listing = staff.get("/settings/tokens")
    assert "Looker Studio" in listing.text
    assert value not in listing.text
    parsed = parse_value(value)
    assert parsed is not None
    assert parsed.secret not in listing.text


async def test_the_list_shows_scope_created_expiry_and_last_use(
    staff: httpx.Client, page_url: str, session: AsyncSession
) -> None:
    value = VALUE.findall(_create(staff, name="Nightly export", expires_in_days="30").text)[0]
    _create(staff, name="Forever", scope="write")
    with script(page_url, value) as client:
        client.get("/api/me")

    page = staff.get("/settings/tokens").text

    nightly = page[page.index("Nightly export") : page.index("</tr>", page.index("Nightly export"))]
    assert "Read-only" in nightly
    assert "just now" in nightly  # created, and last used
    assert "from 127.0.0.1" in nightly
    expiry = await session.scalar(
        select(ApiToken.expires_at).where(ApiToken.name == "Nightly export")
    )
    assert expiry is not None
    assert expiry.date().isoformat() in nightly
    forever = page[page.index("Forever") : page.index("</tr>", page.index("Forever"))]
    assert "Read and write" in forever
    assert "Never" in forever  # no expiry, never used


def test_a_bad_form_says_what_to_fix_and_makes_nothing(staff: httpx.Client) -> None:
    for form, message in (
        ({"name": ""}, "Give the token a name"),
        ({"expires_in_days": "soon"}, "whole number of days"),
        ({"expires_in_days": "0"}, "1 to 3650 days"),
        ({"scope": "admin"}, "read or write"),
    ):
        answer = _create(staff, **form)

        assert answer.status_code == 422, form
        assert message in answer.text, form
        assert not VALUE.search(answer.text)
    assert "No tokens yet" in staff.get("/settings/tokens").text


async def test_revoking_on_the_page_stops_the_token_and_is_recorded(
    staff: httpx.Client, page_url: str, session: AsyncSession
) -> None:
    value = VALUE.findall(_create(staff).text)[0]
    token_id = await session.scalar(select(ApiToken.id))

    answer = staff.post(f"/settings/tokens/{token_id}/revoke", follow_redirects=True)

    assert "The token was revoked" in answer.text
    assert "Looker Studio" not in answer.text
    with script(page_url, value) as client:
        assert client.get("/api/me").status_code == 401
    actions = list(await session.scalars(select(Event.action).where(Event.subject_id == token_id)))
    assert actions == ["api_token.created", "api_token.revoked"]


async def test_another_users_token_cannot_be_revoked_or_seen(
    staff: httpx.Client, page_url: str, demo: Demo, database: Database
) -> None:
    token_id, value = await made_token(database, demo.limited.id, name="limited's cron")

    answer = staff.post(f"/settings/tokens/{token_id}/revoke")

    assert answer.status_code == 404
    assert "limited's cron" not in staff.get("/settings/tokens").text
    assert (
        "limited&#39;s cron"
        in signed_in(page_url, LIMITED, DEMO_PASSWORD).get("/settings/tokens").text
    )
    with script(page_url, value) as client:
        assert client.get("/api/me").status_code == 200


def test_the_form_needs_the_pages_csrf_token(page_url: str) -> None:
    browser = signed_in(page_url, STAFF, DEMO_PASSWORD)
    del browser.headers["X-CSRF-Token"]

    answer = browser.post("/settings/tokens", data={"name": "cron", "scope": "read"})

    assert answer.status_code == 403
    assert not VALUE.search(answer.text)


def test_a_client_login_is_offered_read_only_tokens_only(page_url: str) -> None:
    client_login = signed_in(page_url, "client@demo.relink.test", DEMO_PASSWORD)

    page = client_login.get("/settings/tokens")
    refused = _create(client_login, scope="write")

    assert page.status_code == 200
    assert 'value="write"' not in page.text
    assert refused.status_code == 422
    assert "read scope" in refused.text


def test_a_visitor_is_sent_to_sign_in(page_url: str) -> None:
    answer = httpx.get(f"{page_url}/settings/tokens", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_the_settings_tabs_lead_to_the_tokens_page(staff: httpx.Client) -> None:
    page = staff.get("/settings/notifications").text

    assert 'href="/settings/tokens"' in page


async def test_the_scope_chosen_is_the_scope_kept(
    staff: httpx.Client, session: AsyncSession
) -> None:
    _create(staff, name="writer", scope="write")

    kept = await session.scalar(select(ApiToken.scope).where(ApiToken.name == "writer"))
    assert kept is TokenScope.WRITE
