"""A client's own login is never told about a disconnect (DESIGN.md, Who is told what).

The shared grant is revoked, so the client login's own data source (Acme Dental) is down.
Everything the client login can reach, JSON and HTML, is read and searched for what would tell:
status words, the reason, incidents, the grant and the agency's provider login.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import DataSource, Grant
from relink.status import DataSourceStatus
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.sweeps import sweep_now

MANAGER = "manager@sandbox.test"
GAP_DAYS = 4
# Words that tell of a disconnect, its cause or the agency's side of it, in any casing.
TELLING = (
    "disconnected",
    "failing",
    "revoked",
    "invalid_grant",
    "auth_",
    "reconnect",
    "incident",
    "grant",
    "status_reason",
    "reason",
    MANAGER,
)


@pytest.fixture
async def outage(
    session: AsyncSession, demo: Demo, admin: httpx.Client, sandbox: SandboxServer
) -> list[str]:
    """The shared grant is revoked; answers what the agency side knows about why."""
    own = demo.client_named("Acme Dental").id
    await session.execute(
        update(DataSource)
        .where(DataSource.grant_id == demo.shared_grant_id)
        .values(complete_through=date.today() - timedelta(days=GAP_DAYS))
    )
    await session.commit()
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    sweep_now(admin)
    session.expire_all()
    sources = list(await session.scalars(select(DataSource).where(DataSource.client_id == own)))
    assert {s.status for s in sources} == {DataSourceStatus.DISCONNECTED}
    grant = await session.get(Grant, demo.shared_grant_id)
    assert grant is not None and grant.identity_name == MANAGER
    # The reasons the agency is shown must not reach the client.
    return [d for s in sources for d in (s.status_detail, grant.status_detail) if d]


@pytest.fixture
def client_login(app_url: str) -> httpx.Client:
    return signed_in(app_url, "client@demo.relink.test", DEMO_PASSWORD)


def _untold(text: str, reasons: list[str]) -> None:
    lowered = text.lower()
    for word in (*TELLING, *reasons):
        assert word.lower() not in lowered, f"{word!r} reached a client login"


def test_a_grant_is_not_found_for_a_client_login_whether_or_not_it_exists(
    client_login: httpx.Client, demo: Demo, outage: list[str]
) -> None:
    missing = 10**9

    for method, path in (("GET", ""), ("POST", "/reconnect"), ("POST", "/reconnect-links")):
        body = {"days": 7} if path == "/reconnect-links" else None
        real = client_login.request(method, f"/api/grants/{demo.shared_grant_id}{path}", json=body)
        fake = client_login.request(method, f"/api/grants/{missing}{path}", json=body)

        assert real.status_code == fake.status_code == 404, path
        assert real.json() == fake.json() == {"detail": "grant not found"}


def test_the_grant_pages_are_not_found_for_a_client_login(
    client_login: httpx.Client, demo: Demo, outage: list[str]
) -> None:
    for path in ("reconnect", "reconnected"):
        page = client_login.get(f"/grants/{demo.shared_grant_id}/{path}")

        assert page.status_code == 404, path
        assert "Not found" in page.text
    assert client_login.post(f"/grants/{demo.shared_grant_id}/reconnect").status_code == 404


def test_the_client_page_says_the_data_is_delayed_and_never_why(
    client_login: httpx.Client, outage: list[str]
) -> None:
    own = client_login.get("/api/me").json()
    listed = client_login.get("/clients").text
    (path,) = re.findall(r'href="(/clients/\d+)"', listed)
    assert own["role"] == "client"

    page = client_login.get(path)

    assert page.status_code == 200
    assert "Data delayed" in page.text
    assert "may be incomplete since" in page.text
    assert "st-disconnected" not in page.text
    assert not re.search(r"<th[^>]*>\s*Grant\s*</th>", page.text)
    _untold(page.text, outage)


def test_the_clients_list_and_data_sources_page_never_say_why(
    client_login: httpx.Client, outage: list[str]
) -> None:
    for path in ("/clients", "/data-sources"):
        page = client_login.get(path)

        assert page.status_code == 200, path
        assert "Data delayed" in page.text, path
        _untold(page.text, outage)


def test_the_inbox_bell_and_their_apis_hold_nothing_for_a_client_login(
    client_login: httpx.Client, outage: list[str]
) -> None:
    inbox = client_login.get("/inbox")
    listed = client_login.get("/api/notifications")
    count = client_login.get("/api/notifications/unread-count")
    with client_login.stream("GET", "/api/notifications/stream") as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data:"))

    assert inbox.status_code == 303 and inbox.headers["location"] == "/data-sources"
    assert 'id="bell"' not in client_login.get("/data-sources").text
    assert listed.json() == {"items": [], "next_cursor": None, "unread": 0}
    assert count.json() == {"unread": 0}
    assert first == 'data: {"unread": 0, "items": []}'
    _untold(inbox.text, outage)


def test_the_data_source_api_tells_a_client_login_nothing(
    client_login: httpx.Client, admin: httpx.Client, demo: Demo, outage: list[str]
) -> None:
    own = admin.get("/api/data-sources", params={"q": "Acme Dental"}).json()["items"][0]["id"]

    for path in ("", f"/{own}", f"/{own}/removal", "?status=disconnected"):
        answer = client_login.get(f"/api/data-sources{path}")

        assert answer.status_code in (403, 404), path
        _untold(answer.text, outage)
