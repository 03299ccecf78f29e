"""A revocation the sandbox pushes a signal for is told as what it is: access removed at the
provider, by the account owner, in the notification, the rows and the data source page; never
"expired"."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import Incident, Notification
from relink.status import DataSourceStatus
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.server import Running
from tests.health.conftest import statuses
from tests.signals.conftest import eventually

ADMIN = "admin@demo.relink.test"
MANAGER = "manager@sandbox.test"
HARBOR = "harbor@sandbox.test"
REMOVED = "Access was removed at Sandbox Ads by the account owner"


async def revoked_and_told(
    session: AsyncSession, sandbox: SandboxServer, grant_id: int, login: str
) -> list[int]:
    """Revoke ``login`` at the sandbox (it pushes its signal) and wait until every data source
    of ``grant_id`` is down and its incident has been told; the data sources' ids."""
    ids = [s.id for s in await data_sources_of(session, grant_id)]
    sandbox.add_fault("revoke_grant", grant=login)

    async def told() -> bool:
        now = await statuses(session)
        if not all(now[ds] is DataSourceStatus.DISCONNECTED for ds in ids):
            return False
        notes = await session.scalar(select(func.count()).select_from(Notification).join(Incident))
        return bool(notes)

    await eventually(told)
    return ids


@pytest.fixture
def admin(signal_server: Running) -> httpx.Client:
    return signed_in(signal_server.url, ADMIN, DEMO_PASSWORD)


def visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def test_the_notification_of_a_pushed_revocation_says_access_was_removed(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, admin: httpx.Client
) -> None:
    await revoked_and_told(session, sandbox, demo.shared_grant_id, MANAGER)

    [note] = admin.get("/api/notifications").json()["items"]

    assert REMOVED in note["text"]
    assert "expired" not in note["text"]


async def test_the_rows_of_a_pushed_revocation_say_access_was_removed(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, admin: httpx.Client
) -> None:
    ids = await revoked_and_told(session, sandbox, demo.shared_grant_id, MANAGER)

    items = admin.get("/api/data-sources", params={"status": "disconnected"}).json()["items"]
    listing = visible_text(admin.get("/data-sources", params={"status": "disconnected"}).text)

    assert {item["id"] for item in items} == set(ids)
    assert all(item["reason"] == "auth_revoked" for item in items)
    assert all(item["reason_detail"].startswith(REMOVED) for item in items)
    assert REMOVED in listing
    assert "expired" not in listing


async def test_the_data_source_page_of_a_pushed_revocation_says_access_was_removed(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, admin: httpx.Client
) -> None:
    ids = await revoked_and_told(session, sandbox, demo.shared_grant_id, MANAGER)

    page = visible_text(admin.get(f"/data-sources/{ids[0]}").text)

    assert REMOVED in page
    assert "expired" not in page


async def test_a_pushed_meta_deauthorize_is_told_as_removed_by_the_account_owner(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, admin: httpx.Client
) -> None:
    ids = await revoked_and_told(session, sandbox, demo.second_grant_id, HARBOR)

    item = admin.get(f"/api/data-sources/{ids[0]}").json()

    assert item["reason"] == "auth_revoked"
    assert (
        "removed at Sandbox Ads by the account owner, who removed Relink's app"
        in (item["reason_detail"])
    )
