"""The app's own answers: health, security headers on every response, and error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from tests.fixtures.demo import Demo


@pytest.fixture
async def client(
    session: AsyncSession, database: Database, demo: Demo
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_health_says_ok_and_nothing_about_tenants(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/login", "text/html"),
        ("/api/session/csrf", "application/json"),
        ("/static/app.css", "text/css"),
        ("/static/htmx-2.0.11.min.js", "text/javascript"),
        ("/healthz", "application/json"),
        ("/no-such-page", "text/html"),
        ("/api/no-such-thing", "application/json"),
    ],
)
async def test_every_response_forbids_framing_and_sniffing(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    answer = await client.get(path)

    assert answer.headers["content-type"].startswith(content_type)
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = [part.strip() for part in answer.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "strict-transport-security" not in answer.headers


@pytest.mark.parametrize("path", ["/r/a-reconnect-token", "/oauth/callback?code=c&state=s"])
async def test_pages_with_a_token_in_their_url_send_no_referrer(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)

    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"


async def test_an_https_deployment_asks_browsers_to_stay_on_https(database: Database) -> None:
    app = create_app(database=database, settings=Settings(base_url="https://relink.example"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://test") as http:
            answer = await http.get("/login")

    assert answer.headers["strict-transport-security"].startswith("max-age=")


async def test_an_unknown_page_gets_the_styled_error_page(client: httpx.AsyncClient) -> None:
    answer = await client.get("/settings/no-such-tab")

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in answer.text
    assert '<link rel="stylesheet" href="/static/app.css">' in answer.text
    assert '"detail"' not in answer.text


async def test_an_unknown_api_path_still_answers_json(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/no-such-thing")

    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not Found"}


async def test_a_malformed_page_address_gets_the_error_page_and_the_api_its_json(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/notifications/not-a-number")
    api = await client.get("/api/grants/not-a-number")

    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "not valid" in page.text
    # Not signed in: the API says so first, in JSON.
    assert api.status_code == 401 and api.json() == {"detail": "sign in first"}


async def test_a_page_opened_the_wrong_way_gets_the_error_page(client: httpx.AsyncClient) -> None:
    answer = await client.delete("/inbox")

    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("text/html")
    assert "cannot be opened that way" in answer.text
