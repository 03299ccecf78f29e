"""Who may open a page is decided by its signature: one dependency, one answer, one clock."""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

import relink
from relink.app import create_app
from relink.config import Settings
from relink.db import Database
from relink.demo import DEMO_PASSWORD
from relink.dependencies import page_reading, page_user
from relink.models.base import utcnow
from tests.fixtures.demo import Demo

# Pages anyone may open: signing in, the provider's way back, and a client's reconnect link.
PUBLIC_PAGES = {
    "/",
    "/login",
    "/logout",
    "/oauth/callback",
    "/r/{token}",
    "/settings",
    "/healthz",
    "/readyz",
}
SRC = Path(relink.__file__).parent


@pytest.fixture
async def app(session: AsyncSession, database: Database, demo: Demo) -> AsyncIterator[FastAPI]:
    app = create_app(database=database, settings=Settings(embedded_worker=False))
    async with app.router.lifespan_context(app):
        yield app


def browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def signed_in(app: FastAPI, email: str) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as client:
        answer = await client.post("/api/session", json={"email": email, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        token = (await client.get("/api/session/csrf")).json()["csrf_token"]
        client.headers["X-CSRF-Token"] = token
        yield client


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every APIRoute of the app, also those inside included routers (FastAPI keeps an
    included router as one route that holds the original's)."""
    for route in app.routes:
        included = getattr(route, "original_router", None)
        for inner in included.routes if included is not None else [route]:
            if isinstance(inner, APIRoute):
                yield inner


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of a page, that is: not the API, not a provider's signal receiver
    (it signs its own requests) and not a static file."""
    found = []
    for route in api_routes(app):
        if not route.path.startswith(("/api", "/signals/")):
            found.extend((method, route.path) for method in sorted(route.methods))
    return found


def signed_in_only(app: FastAPI, method: str, path: str) -> bool:
    route = next(r for r in api_routes(app) if r.path == path and method in r.methods)
    # page_reading: the same answer for pages that only read.
    return not {page_user, page_reading}.isdisjoint(_calls(route.dependant))


def filled(path: str) -> str:
    """A well-formed address for the route: ids are numbers, other names are words."""
    path = re.sub(r"\{\w+_id\}", "1", path)
    return re.sub(r"\{\w+\}", "sandbox", path)


async def test_every_page_but_the_public_ones_requires_a_signed_in_user(app: FastAPI) -> None:
    # The walk finds the pages (a walk that found none would prove nothing).
    assert len(page_routes(app)) > 30
    open_pages = [
        (method, path)
        for method, path in page_routes(app)
        if path not in PUBLIC_PAGES and not signed_in_only(app, method, path)
    ]

    assert open_pages == []


async def test_a_visitor_is_sent_to_sign_in_and_back_from_every_signed_in_page(
    app: FastAPI,
) -> None:
    async with browser(app) as visitor:
        visitor.headers["X-CSRF-Token"] = (await visitor.get("/api/session/csrf")).json()[
            "csrf_token"
        ]
        for method, path in page_routes(app):
            if path in PUBLIC_PAGES:
                continue
            address = filled(path)
            answer = await visitor.request(method, f"{address}?from=mail")

            assert (method, path, answer.status_code) == (method, path, 303)
            assert answer.headers["location"] == f"/login?next={address}%3Ffrom%3Dmail"


async def test_admin_pages_do_not_exist_for_staff_and_send_a_client_login_home(
    app: FastAPI, demo: Demo
) -> None:
    async with signed_in(app, demo.staff.email) as staff:
        webhooks = await staff.get("/settings/webhooks")
        users = await staff.get("/settings/users")
    async with signed_in(app, demo.client_user.email) as client_login:
        inbox = await client_login.get("/inbox")

    assert webhooks.status_code == users.status_code == 404
    assert webhooks.headers["content-type"].startswith("text/html")
    assert (inbox.status_code, inbox.headers["location"]) == (303, "/data-sources")


async def test_a_session_ends_by_the_apps_clock_not_the_wall_clock(
    app: FastAPI, demo: Demo
) -> None:
    async with signed_in(app, demo.admin.email) as admin:
        before = await admin.get("/api/me")
        app.state.jobs.clock = lambda: utcnow() + timedelta(days=15)
        after = await admin.get("/api/me")
        page = await admin.get("/inbox")

    assert before.status_code == 200
    # Two weeks idle by the app's clock: the session has ended, for the API and the pages.
    assert after.status_code == 401
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/inbox")


async def test_an_endpoint_dates_what_it_writes_by_the_apps_clock(app: FastAPI, demo: Demo) -> None:
    moment = datetime(2031, 3, 4, 5, 6, 7, tzinfo=utcnow().tzinfo)
    app.state.jobs.clock = lambda: moment
    async with signed_in(app, demo.admin.email) as admin:
        answer = await admin.post(
            f"/api/grants/{demo.shared_grant_id}/reconnect-links", json={"days": 3}
        )

    assert answer.status_code == 201
    assert datetime.fromisoformat(answer.json()["expires_at"]) == moment + timedelta(days=3)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_pages_and_endpoints_share_services_not_each_other() -> None:
    pages = sorted((SRC / "web").glob("*.py"))
    endpoints = sorted(SRC.glob("*/endpoints.py"))

    pages_importing_endpoints = [
        p.name for p in pages if any(n.endswith(".endpoints") for n in _imports(p))
    ]
    endpoints_importing_web = [
        str(p.relative_to(SRC))
        for p in endpoints
        if any(n.startswith("relink.web") for n in _imports(p))
    ]

    assert pages_importing_endpoints == []
    assert endpoints_importing_web == []
